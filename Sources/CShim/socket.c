#define _GNU_SOURCE
#include "bulkhead_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/// A control buffer aligned for struct cmsghdr, big enough for the capacity.
union bh_control {
    char bytes[CMSG_SPACE(sizeof(int) * BH_SOCKET_FD_CAPACITY)];
    struct cmsghdr align;
};

int bh_seqpacket_pair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}

long bh_send_with_fds(int socket, const void *data, size_t length, const int *fds, int fd_count) {
    if (fd_count < 0 || fd_count > BH_SOCKET_FD_CAPACITY) return -EINVAL;
    struct iovec iov = {.iov_base = (void *)data, .iov_len = length};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    union bh_control control;
    if (fd_count > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)fd_count);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)fd_count);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)fd_count);
    }
    ssize_t sent = sendmsg(socket, &msg, MSG_NOSIGNAL);
    return sent < 0 ? -errno : (long)sent;
}

int bh_receive_with_fds(int socket, void *buffer, size_t capacity, int max_fds,
                        int *fds_out, struct bh_receive_result *result) {
    memset(result, 0, sizeof *result);
    if (max_fds < 1 || max_fds > BH_SOCKET_FD_CAPACITY) return -EINVAL;
    struct iovec iov = {.iov_base = buffer, .iov_len = capacity};
    union bh_control control;
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.bytes,
        .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)max_fds),
    };
    ssize_t got = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    if (got < 0) return -errno;
    result->length = (long)got;
    result->data_truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    result->control_truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    // Collect every fd the kernel installed, even from a truncated cmsg: each one is
    // open in this process now and the caller must close what it does not keep.
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
            result->foreign_control = 1;
            continue;
        }
        size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *data = CMSG_DATA(cmsg);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof fd);
            if (result->fd_count < BH_SOCKET_FD_CAPACITY) {
                fds_out[result->fd_count++] = fd;
            } else {
                close(fd);  // cannot happen with the control buffer sized above
            }
        }
    }
    return 0;
}

int bh_set_receive_timeout(int socket, long microseconds) {
    struct timeval tv = {.tv_sec = microseconds / 1000000, .tv_usec = microseconds % 1000000};
    return setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ? -errno : 0;
}

int bh_is_unix_seqpacket(int fd) {
    int domain = 0, type = 0;
    socklen_t length = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) < 0) return errno == ENOTSOCK ? 0 : -errno;
    length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) < 0) return -errno;
    return domain == AF_UNIX && type == SOCK_SEQPACKET;
}
