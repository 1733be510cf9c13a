extension Profile {
    /// What every worker thread needs to run Swift code, allocate and exit cleanly.
    /// Included by each worker role, so a reader sees the shared floor in one place.
    public static let threadRuntime = Profile(
        name: "thread-runtime",
        summary: "shared floor of every worker thread: locks, malloc, signals, exit",
        rules: [
            .allow("futex", because: "locks in the Swift runtime and glibc"),
            .allow(
                "mmap", where: .arg(2, hasNoneOf: KernelConstant.protExec),
                because: "malloc maps thread arenas; never executable"),
            .allow(
                "mprotect", where: .arg(2, hasNoneOf: KernelConstant.protExec),
                because: "malloc grows thread arenas; never executable"),
            .allow("munmap", because: "malloc and thread exit unmap memory"),
            .allow("madvise", because: "thread exit releases its stack (MADV_DONTNEED)"),
            .allow("rt_sigprocmask", because: "thread exit blocks signals"),
            .allow("rt_sigreturn", because: "return from a signal handler"),
            .allow("restart_syscall", because: "a sleeping thread stopped and continued resumes"),
            .allow("exit", because: "thread exit"),
            .allow("exit_group", because: "process exit, also after a fatal error"),
            .allow("getpid", because: "reports and log lines carry the pid"),
            .allow("gettid", because: "the Swift runtime's one-time initialisation (swift::once) records the thread id"),
        ])
}
