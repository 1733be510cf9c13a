#define _GNU_SOURCE
#include "bulkhead_parent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// struct clone_args of <linux/sched.h> (which clashes with glibc's <sched.h>), up to `cgroup`.
struct bh_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

// A child with fork semantics. With a cgroup: clone3(CLONE_INTO_CGROUP), so the child is born
// in it — no migration afterwards, which would take cgroup_threadgroup_rwsem for writing and
// wait for an RCU grace period (measured here: 15 ms per child). With flags only, a raw clone
// (no stack, SIGCHLD). Either way the child only makes async-signal-safe calls before execve,
// as after fork().
static pid_t spawn_child(unsigned long clone_flags, int cgroup_fd) {
    if (cgroup_fd >= 0) {
        struct bh_clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = (uint64_t)clone_flags | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)cgroup_fd;
        return (pid_t)syscall(SYS_clone3, &args, sizeof args);
    }
    return clone_flags ? (pid_t)syscall(SYS_clone, clone_flags | SIGCHLD, 0, 0, 0, 0) : fork();
}

int bh_spawn(
    int program_fd, char *const argv[], char *const envp[], const int *fds, int fd_count, unsigned long clone_flags,
    int cgroup_fd) {
    if (program_fd < 0 || fd_count > 64) return -EINVAL;
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) return -errno;
    pid_t parent = getpid();
    pid_t pid = spawn_child(clone_flags, cgroup_fd);
    if (pid < 0) {
        int e = errno;
        close(report[0]);
        close(report[1]);
        return -e;
    }
    if (pid == 0) {
        int err = 0;
        setpgid(0, 0);  // a terminal's Ctrl-C reaches the parent only; it ends the VM in order
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) { err = errno; goto fail; }
        // The parent died before PDEATHSIG was set. In a new PID namespace getppid() is 0, so
        // this cannot be checked there; the child's own start-up sets PDEATHSIG again and its
        // first exchange with the parent fails if it is gone.
        if (!(clone_flags & CLONE_NEWPID) && getppid() != parent) _exit(127);
        // PID 1 of a new PID namespace drops every signal it has no handler for, and a
        // dropped SIGTERM (how the parent ends the worker) is lost for good: it stays
        // blocked across execve, so it waits pending until the child's handler is in
        // (bh_depth_exit_on_sigterm unblocks it).
        sigset_t mask;
        sigemptyset(&mask);
        if (clone_flags & CLONE_NEWPID) sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_SETMASK, &mask, NULL);
        for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
        // The map, then the program at fd `fd_count`. Move every source above the target
        // range first, so no dup2 overwrites a later source.
        int total = fd_count + 1;
        int moved[65];
        int floor = total > report[1] ? total : report[1] + 1;
        for (int i = 0; i < total; i++) {
            int source = i < fd_count ? fds[i] : program_fd;
            moved[i] = -1;
            if (source < 0) continue;
            moved[i] = fcntl(source, F_DUPFD_CLOEXEC, floor);
            if (moved[i] < 0) { err = errno; goto fail; }
        }
        int keep_report = fcntl(report[1], F_DUPFD_CLOEXEC, floor + 65);
        if (keep_report < 0) { err = errno; goto fail; }
        for (int i = 0; i < total; i++) {
            if (moved[i] < 0) { close(i); continue; }
            if (dup2(moved[i], i) < 0) { err = errno; goto fail; }  // dup2 clears FD_CLOEXEC
        }
        // Everything from `total` up is closed, except the CLOEXEC error pipe, which exec closes.
        if (keep_report > total) syscall(SYS_close_range, total, keep_report - 1, 0);
        syscall(SYS_close_range, keep_report + 1, ~0U, 0);
        report[1] = keep_report;
        // Exactly the file the parent opened and checked (TrustedExecutable), never a path
        // that could name another by now. Close-on-exec, so an ELF program does not keep it.
        int program = fd_count;
        if (fcntl(program, F_SETFD, FD_CLOEXEC) < 0) { err = errno; goto fail; }
        syscall(SYS_execveat, program, "", argv, envp, AT_EMPTY_PATH);
        // A `#!` script's interpreter reads the script from /dev/fd/N, which exec would have
        // closed: the kernel refuses with ENOENT. Then again with the fd kept, for the
        // interpreter (only test stand-ins are scripts; a helper closes fds above its socket).
        if (errno == ENOENT && fcntl(program, F_SETFD, 0) == 0) syscall(SYS_execveat, program, "", argv, envp, AT_EMPTY_PATH);
        err = errno;
    fail:
        (void)!write(report[1], &err, sizeof err);
        _exit(127);
    }
    close(report[1]);
    int err = 0;
    ssize_t n;
    do { n = read(report[0], &err, sizeof err); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == sizeof err) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        return -err;
    }
    return pid;
}

int bh_drop_all_capabilities(void) {
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL) break;  // past cap_last_cap
            return -errno;
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -errno;
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &header, data) < 0) return -errno;
    return 0;
}

int bh_signalfd_blocking(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return -errno;
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int bh_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n < 0) return errno == EAGAIN ? 0 : -errno;
    return n == sizeof info ? (int)info.ssi_signo : 0;
}

int bh_ppoll_ms(struct pollfd *fds, unsigned long count, long timeout_ms) {
    struct timespec t = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    int n = ppoll(fds, count, timeout_ms < 0 ? NULL : &t, NULL);
    return n < 0 ? -errno : n;
}
