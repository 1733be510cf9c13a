// What the worker needs from libc that Swift's Glibc module does not import
// (sys/eventfd.h, and ppoll behind _GNU_SOURCE). Wrapped by Sources/Worker.
#ifndef BULKHEAD_WORKER_H
#define BULKHEAD_WORKER_H

#include <poll.h>

/// eventfd(initval, EFD_CLOEXEC). Returns the fd or -errno.
int bh_eventfd_cloexec(unsigned int initval);
/// ppoll(fds, count, NULL, NULL): waits without a timeout. Returns ppoll's result or -errno.
int bh_ppoll_forever(struct pollfd *fds, unsigned long count);

/// mallopt(M_ARENA_MAX, count): glibc otherwise sizes its arena limit lazily by reading
/// /sys/devices/system/cpu/online when a ninth thread allocates. Returns mallopt's result.
int bh_limit_malloc_arenas(int count);

#endif
