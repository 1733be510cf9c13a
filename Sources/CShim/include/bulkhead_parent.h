// What the `bulkhead` parent needs from libc that Swift cannot call directly: fork+exec
// with an explicit fd map, capability dropping (capset has no glibc wrapper), signalfd
// and ppoll (behind _GNU_SOURCE). Wrapped by Sources/bulkhead; nothing else calls it.
#ifndef BULKHEAD_PARENT_H
#define BULKHEAD_PARENT_H
#include <poll.h>

/// fork (with clone_flags such as CLONE_NEWPID, a raw clone with fork semantics; with
/// cgroup_fd >= 0, an open cgroup v2 directory, clone3 with CLONE_INTO_CGROUP: the child is
/// born in that cgroup, kernel >= 5.7), then in the child: its own process group,
/// PR_SET_PDEATHSIG(SIGKILL) (and exit
/// if the parent already died), every signal unblocked (SIGTERM aside with CLONE_NEWPID: PID 1
/// drops a signal it has no handler for, so SIGTERM waits blocked until the child's handler
/// is in, bh_depth_exit_on_sigterm) and at its default, fd i = fds[i]
/// for i in 0..<fd_count (a source of -1 leaves fd i closed), the program at fd fd_count,
/// every other fd closed, execveat(fd_count, "", argv, envp, AT_EMPTY_PATH): the file
/// `program_fd` (O_PATH is enough) is what runs, whatever its path names by now. The program
/// fd is close-on-exec, except for a `#!` script, whose interpreter opens /dev/fd/<fd_count>.
/// fd_count is at most 64. The exec's failure travels back on a CLOEXEC pipe.
/// Returns the child's pid, or -errno (of fork/clone3, or of the child's execveat).
int bh_spawn(
    int program_fd, char *const argv[], char *const envp[], const int *fds, int fd_count, unsigned long clone_flags,
    int cgroup_fd);

/// Drops every capability for good: PR_CAPBSET_DROP for each one up to cap_last_cap,
/// the ambient set cleared, then capset(2) with empty effective, permitted and inheritable
/// sets. Returns 0 or -errno.
int bh_drop_all_capabilities(void);

/// Blocks `signals` (sigprocmask) and returns signalfd(SFD_CLOEXEC|SFD_NONBLOCK) for
/// them, or -errno.
int bh_signalfd_blocking(const int *signals, int count);

/// Reads one signalfd_siginfo; returns its signal number, 0 when none is pending, or -errno.
int bh_signalfd_read(int fd);

/// ppoll(fds, count, timeout) with timeout_ms < 0 meaning forever. Returns ppoll's result or -errno.
int bh_ppoll_ms(struct pollfd *fds, unsigned long count, long timeout_ms);
#endif
