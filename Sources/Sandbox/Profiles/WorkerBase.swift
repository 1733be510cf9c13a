extension Profile {
    /// The worker's process-wide filter, loaded before any thread starts. It is the union
    /// of its thread roles plus what starting those threads takes (clone with thread flags
    /// only, naming the thread, stacking its role filter). Nothing here opens a path,
    /// creates a socket, starts a process or maps executable memory.
    public static let workerBase = Profile(
        name: "worker-base",
        summary: "the worker process before and under every thread role",
        includes: [.threadRuntime, .vcpuThread, .ioThread, .controlThread],
        rules: [
            .allow(
                "ioctl",
                where: .arg(1, .maskedEqual(mask: KernelConstant.ioctlTypeMask, value: KernelConstant.kvmIoctlType)),
                because: "KVM requests only (type 0xAE): build the VM, its vCPUs and devices"),
            .allow(
                "clone", where: .arg(0, .equal(KernelConstant.cloneThreadFlags)),
                because: "pthread_create; exactly the thread flags, never a process"),
            .fail(
                "clone3", errno: 38 /* ENOSYS */,
                because: "its flags sit in memory and cannot be checked; glibc falls back to clone"),
            .allow("set_robust_list", because: "every new thread registers its robust futex list"),
            .allow("rseq", because: "every new thread registers restartable sequences"),
            .allow(
                "prctl", where: .arg(0, .equal(KernelConstant.prSetName)),
                because: "name each thread for its role (PR_SET_NAME)"),
            .allow(
                "seccomp", where: .arg(0, .equal(KernelConstant.seccompSetModeFilter)),
                because: "each thread stacks its role filter"),
            .allow(
                "rt_sigaction", where: .arg(0, .equal(33)),
                because: "glibc's first pthread_create installs its SIGSETXID handler (signal 33)"),
            .allow("rt_sigprocmask", because: "pthread_create blocks signals while it starts a thread"),
            .allow(
                "brk", because: "malloc's main arena",
                unexercised: .path(
                    "malloc grows or trims the main arena past the break it had at sealing (a run may not)",
                    test: "HeapGrowthTests/heapGrowsAndShrinksUnderEveryRole")),
        ])
}
