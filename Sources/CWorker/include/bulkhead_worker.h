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

/// The signal that kicks a vCPU thread out of KVM_RUN (pause): SIGUSR1.
#define BH_KICK_SIGNAL 10
/// Installs an empty handler for BH_KICK_SIGNAL without SA_RESTART, so a blocked KVM_RUN
/// returns EINTR. Called once, before any thread starts. Returns 0 or -errno.
int bh_install_kick_handler(void);
/// tgkill(getpid(), tid, BH_KICK_SIGNAL). Returns 0 or -errno.
int bh_kick_thread(int tid);
/// gettid(): the calling thread's id, for bh_kick_thread.
int bh_thread_id(void);

#endif
