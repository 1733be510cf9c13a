extension Profile {
    /// `bulkhead` after it has launched everything and sealed itself: it only supervises.
    /// It waits for children, ends them and relays reports. Measured with `--seccomp log`
    /// across clean poweroff, trap and kill reports (it reads /dev/kmsg through an fd opened
    /// before sealing), a helper SIGKILLed and SIGTERM to the parent: these 16 calls suffice.
    /// unlinkat: the VM's runtime registry entry (/run/bulkhead/NAME) is removed at the end,
    /// through directory fds opened before sealing; the --console file is the operator's and stays.
    public static let sealedParent = Profile(
        name: "parent",
        summary: "the supervisor after sealing: wait, signal, report, clean up",
        includes: [.helperRuntime],
        rules: [
            .allow("wait4", because: "reap children and learn how they ended"),
            .allow("kill", because: "end the remaining children when one dies"),
            .allow("unlinkat", because: "remove the VM's runtime registry entry when it ends"),
            .allow("ppoll", because: "wait on the signalfd (SIGCHLD, SIGINT, SIGTERM), the status socket and the report pipe"),
        ])
}
