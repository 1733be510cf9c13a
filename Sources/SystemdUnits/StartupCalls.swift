/// What a helper calls between execve and loading its own filter: the dynamic loader, the
/// Swift runtime's start-up, reading the config file, checking the socket and connecting
/// the notify socket. systemd's `SystemCallFilter=` is installed before execve and stays,
/// so it must allow these too; the helper's own filter, which the kernel stacks on top,
/// then takes everything but its role's profile away again (the effective set after
/// start-up is the profile alone). None of these is in a group `systemd-analyze security`
/// counts against a service (@clock @cpu-emulation @debug @module @mount @obsolete
/// @privileged @raw-io @reboot @resources @swap).
/// Measured with `strace -f` on each helper started by systemd-socket-activate.
enum StartupCalls {
    static let calls: [(names: [String], reason: String)] = [
        (["execve", "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64", "getrandom", "access", "readlink"],
         "the kernel, the dynamic loader and libc start the process (rlimits: the helper lowers its own)"),
        (["openat", "newfstatat", "pread64", "mmap", "mprotect", "munmap", "read", "close", "brk"],
         "the dynamic loader maps the Swift runtime and libraries; the config file is read"),
        (["rt_sigaction", "rt_sigprocmask", "sigaltstack", "gettid", "sched_getaffinity", "ioctl", "getpid"],
         "the Swift runtime sets itself up (ioctl: TCGETS on stdout); the SIGTERM handler for STOPPING=1"),
        (["prctl", "seccomp", "close_range", "getsockopt", "socket", "connect", "setsockopt", "geteuid", "fstatfs"],
         "the helper's own start-up: parent-death signal, fds, socket checks, notify and journal sockets, the declared files' file system, its filter, its uid"),
    ]

    /// The exec server's own: the socketpair to its hook launcher, made before it forks it.
    static let execCalls: [(names: [String], reason: String)] = [
        (["socketpair"], "the exec server's socketpair to the hook launcher it forks before confining itself")
    ]

    static func unitLines(for helper: ServiceHelper) -> [String] {
        ["# Start-up, before the helper loads its own filter (which then takes these away again):"]
            + (calls + (helper == .exec ? execCalls : [])).map { "#   \($0.reason)\nSystemCallFilter=\($0.names.joined(separator: " "))" }
    }
}
