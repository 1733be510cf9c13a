extension Profile {
    /// What every worker thread needs to run Swift code and allocate. Worker threads never
    /// exit (a finished one parks; the process ends with exit_group), and no worker thread
    /// but a vCPU runs a signal handler that returns (the pause kick; the trap reporter exits),
    /// so neither thread exit (exit, madvise of the stack, rt_sigprocmask) nor rt_sigreturn is here. Nor is
    /// restart_syscall: a stopped and continued thread resumes its wait (futex without a
    /// timeout, ppoll, KVM_RUN) by the call itself (the coverage run's stop-continue scenario).
    /// Included by each worker role, so a reader sees the shared floor in one place.
    public static let threadRuntime = Profile(
        name: "thread-runtime",
        summary: "shared floor of every worker thread: locks, malloc, process exit",
        rules: [
            .allow("futex", because: "locks in the Swift runtime and glibc"),
            .allow(
                "mmap", where: .arg(2, hasNoneOf: KernelConstant.protExec),
                because: "malloc maps thread arenas; never executable"),
            .allow(
                "mprotect", where: .arg(2, hasNoneOf: KernelConstant.protExec),
                because: "malloc grows thread arenas; never executable"),
            .allow("munmap", because: "malloc returns memory it no longer needs"),
            .allow("exit_group", because: "process exit, also after a fatal error"),
            .allow("gettid", because: "the Swift runtime's one-time initialisation (swift::once) records the thread id"),
        ])
}
