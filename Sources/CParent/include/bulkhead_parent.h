// What the `bulkhead` parent needs from libc that Swift cannot call directly: fork+exec
// with an explicit fd map, capability dropping (capset has no glibc wrapper), signalfd
// and ppoll (behind _GNU_SOURCE), the controlling terminal. Wrapped by Sources/bulkhead and
// by Cgroup, which spawns and polls for the parent; no helper or worker sees it.
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

// The console's terminal mode (Sources/bulkhead/TerminalMode.swift, Sources/CParent/terminal.c):
// the kernel's struct termios through ioctl(TCGETS/TCSETS) directly.
/// The kernel's struct termios (asm-generic/termbits.h: four flag words, c_line, 19 c_cc).
struct bh_terminal_mode {
    unsigned int iflag, oflag, cflag, lflag;
    unsigned char line;
    unsigned char cc[19];
};

/// ioctl(fd, TCGETS, mode). Returns 0 or -errno (-ENOTTY for anything but a terminal).
int bh_terminal_get(int fd, struct bh_terminal_mode *mode);
/// ioctl(fd, TCSETS, mode): applies at once, nothing flushed. Returns 0 or -errno.
int bh_terminal_set(int fd, const struct bh_terminal_mode *mode);
/// `mode` made raw as cfmakeraw does (no echo, no line editing, no signals from keys, no
/// input translation, 8 bits, a read returns each byte), except that OPOST stays as it was:
/// the guest's "\n" still starts a new line, as QEMU's stdio console keeps it.
void bh_terminal_make_raw(struct bh_terminal_mode *mode);
/// 1 when `fd` is a terminal whose foreground process group is ours (tcgetpgrp == getpgrp):
/// a background `bulkhead run` must not change the terminal or read it (SIGTTOU/SIGTTIN).
int bh_terminal_is_foreground(int fd);
/// Forks the terminal keeper: a child that holds `saved`, waits until the pipe whose write
/// end it returns in `*write_end` (O_CLOEXEC) reaches end of file — the parent closed it, or
/// the parent ended in any way, SIGKILL included — then sets `saved` on fd 0 and exits 0. It
/// keeps only fd 0 and the pipe, ignores SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGTTOU (it may
/// restore after the shell took the terminal back), and makes only those syscalls. Returns
/// its pid or -errno.
int bh_terminal_keeper(const struct bh_terminal_mode *saved, int *write_end);
#endif
