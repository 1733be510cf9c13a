#define _GNU_SOURCE
#include "bulkhead_worker.h"

#include <errno.h>
#include <stddef.h>
#include <malloc.h>
#include <sys/eventfd.h>

int bh_eventfd_cloexec(unsigned int initval) {
    int fd = eventfd(initval, EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int bh_ppoll_forever(struct pollfd *fds, unsigned long count) {
    int n = ppoll(fds, count, NULL, NULL);
    return n < 0 ? -errno : n;
}

int bh_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }
