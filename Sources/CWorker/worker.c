#define _GNU_SOURCE
#include "bulkhead_worker.h"

#include <errno.h>
#include <stddef.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

int bh_eventfd_cloexec(unsigned int initval) {
    int fd = eventfd(initval, EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int bh_ppoll_forever(struct pollfd *fds, unsigned long count) {
    int n = ppoll(fds, count, NULL, NULL);
    return n < 0 ? -errno : n;
}

int bh_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }

static void kick_handler(int signal) { (void)signal; }

int bh_install_kick_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = kick_handler;
    sigemptyset(&action.sa_mask);
    return sigaction(BH_KICK_SIGNAL, &action, NULL) < 0 ? -errno : 0;
}

int bh_kick_thread(int tid) {
    return syscall(SYS_tgkill, getpid(), tid, BH_KICK_SIGNAL) < 0 ? -errno : 0;
}

int bh_thread_id(void) { return (int)syscall(SYS_gettid); }
