// The service-manager side of a helper run as a systemd service (DESIGN.md §8): the
// notify socket, opened before confinement, and accepting socket-activated connections.
// Plain syscalls only; libsystemd's sd_notify would create a socket per call, which the
// helper profiles forbid once the helper has confined itself.
#ifndef BULKHEAD_SYSTEMD_H
#define BULKHEAD_SYSTEMD_H

#include <stddef.h>

/// socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC) connected to `address` (`length` bytes, no
/// NUL needed): a path, or an abstract name when it starts with '@' (sent as a leading
/// NUL, as sd_notify does). Returns the fd or -errno (-ENAMETOOLONG, -EINVAL for empty).
int bh_notify_connect(const char *address, size_t length);

/// accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC), retried on EINTR. Returns the fd or -errno.
int bh_accept_connection(int listen_fd);

/// getsockopt(SO_ACCEPTCONN): 1 if `fd` is a listening socket, 0 if not, or -errno.
int bh_is_listening(int fd);

/// The value accept4's flags argument carries (SOCK_CLOEXEC), for the seccomp rule's test.
int bh_sock_cloexec(void);

/// Installs a SIGTERM handler (the service manager's stop) that sends "STOPPING=1" on
/// `notify_fd` with one sendmsg (-1: sends nothing) and _exit(0)s: a stop is a normal end.
/// Also unblocks SIGTERM (the mask survives exec). Returns 0 or -errno.
int bh_install_stop_handler(int notify_fd);

#endif
