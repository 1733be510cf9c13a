extension Profile {
    /// What a single-threaded helper needs to serve requests on its socket: the shared
    /// floor of `block`, `net` and the sealed `parent`. No thread creation, no exec memory.
    public static let helperRuntime = Profile(
        name: "helper-runtime",
        summary: "shared floor of the single-threaded helpers and the sealed parent",
        rules: [
            .allow("recvmsg", because: "requests (and fds) from the peer"),
            .allow("sendmsg", because: "replies, with fds in SCM_RIGHTS"),
            .allow("read", because: "read from fds it holds"),
            .allow("write", because: "log lines to stderr"),
            .allow("close", because: "close fds once handed over"),
            .allow("brk", because: "malloc's main arena"),
            .allow(
                "mmap", where: .arg(2, hasNoneOf: KernelConstant.protExec),
                because: "large allocations; never executable"),
            .allow("munmap", because: "free large allocations"),
            .allow("futex", because: "locks in the Swift runtime and glibc"),
            .allow("rt_sigreturn", because: "return from a signal handler"),
            .allow("restart_syscall", because: "a sleeping process stopped and continued resumes"),
            .allow("exit_group", because: "exit"),
            .allow("getpid", because: "reports and log lines carry the pid"),
        ])
}
