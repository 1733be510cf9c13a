#define _GNU_SOURCE
#include "bulkhead_systemd.h"

#include <errno.h>
#include <signal.h>
#include <sys/uio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int bh_notify_connect(const char *address, size_t length) {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (length == 0 || (address[0] != '/' && address[0] != '@')) return -EINVAL;
    if (length > sizeof sa.sun_path) return -ENAMETOOLONG;
    if (memchr(address, 0, length) != NULL) return -EINVAL;
    memcpy(sa.sun_path, address, length);
    socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length);
    if (address[0] == '@') {
        sa.sun_path[0] = 0;  // abstract namespace: exactly `length` bytes, no terminator
    } else if (length < sizeof sa.sun_path) {
        size += 1;  // include the terminating NUL for a path
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&sa, size) < 0) {
        int saved = errno;
        close(fd);
        return -saved;
    }
    return fd;
}

int bh_accept_connection(int listen_fd) {
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) return fd;
        if (errno != EINTR) return -errno;
    }
}

int bh_is_listening(int fd) {
    int value = 0;
    socklen_t size = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &size) < 0) return -errno;
    return value ? 1 : 0;
}

int bh_sock_cloexec(void) { return SOCK_CLOEXEC; }

static volatile int stop_notify_fd = -1;

static void bh_on_stop(int signal) {
    (void)signal;
    if (stop_notify_fd >= 0) {
        static const char message[] = "STOPPING=1";
        struct iovec iov = {(void *)message, sizeof message - 1};
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        (void)sendmsg(stop_notify_fd, &msg, MSG_NOSIGNAL);
    }
    _exit(0);
}

int bh_install_stop_handler(int notify_fd) {
    stop_notify_fd = notify_fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = bh_on_stop;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGTERM, &action, NULL) < 0) return -errno;
    // A manager that is not systemd (systemd-socket-activate) may pass a blocked SIGTERM on.
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    if (sigprocmask(SIG_UNBLOCK, &term, NULL) < 0) return -errno;
    return 0;
}
