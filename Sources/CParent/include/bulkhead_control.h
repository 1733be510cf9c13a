// The VM control socket (Sources/bulkhead/ControlSocket.swift): a listening AF_UNIX
// SOCK_SEQPACKET socket the sealed parent serves, accept4 and the peer's credentials.
#ifndef BULKHEAD_CONTROL_H
#define BULKHEAD_CONTROL_H
#include <sys/types.h>

/// socket(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC|SOCK_NONBLOCK), bind to `path` (an existing
/// file there is an error), chmod `mode`, listen(backlog), then dup3 onto `target_fd`
/// (which must be free) with O_CLOEXEC. Returns 0 or -errno.
int bh_control_listen(const char *path, unsigned int mode, int backlog, int target_fd);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK): the fd, or -errno.
int bh_control_accept(int fd);

/// getsockopt(SO_PEERCRED) and getsockopt(SO_PEERGROUPS) of a connected socket: the peer's
/// pid, uid, gid when it connected and up to `capacity` supplementary groups (their number
/// in *count). Returns 0, or -errno (-ERANGE: more groups than `capacity`).
int bh_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid, gid_t *groups, int capacity, int *count);

/// clock_gettime(CLOCK_MONOTONIC) in milliseconds (the vDSO answers it without a syscall
/// on a TSC clocksource). 
long long bh_monotonic_ms(void);

/// connect a new SOCK_SEQPACKET|SOCK_CLOEXEC socket to `path`: the fd, or -errno.
int bh_control_connect(const char *path);

#endif
