extension Profile {
    /// `bulkhead` after it has launched everything and sealed itself: it only supervises.
    /// It waits for children, ends them and relays reports. Measured with `--seccomp log`
    /// across clean poweroff, trap and kill reports (it reads /dev/kmsg through an fd opened
    /// before sealing), a helper SIGKILLed and SIGTERM to the parent: these 16 calls suffice.
    /// It ends its children without kill(2): a `stop` message to the worker, hang-ups to the
    /// helpers, then "1" written to the VM cgroup's cgroup.kill (an fd opened before sealing).
    /// Without kill a capless uid-0 parent cannot signal the host's other root processes either.
    /// unlinkat: the VM's runtime registry entry (/run/bulkhead/NAME) and its cgroup directory
    /// are removed at the end, through directory fds opened before sealing; the --console file
    /// is the operator's and stays.
    public static let sealedParent = Profile(
        name: "parent",
        summary: "the supervisor after sealing: wait, report, end the VM through its cgroup, clean up",
        includes: [.helperRuntime],
        rules: [
            .allow("wait4", because: "reap children and learn how they ended"),
            .allow("unlinkat", because: "remove the VM's runtime registry entry and its cgroup when it ends"),
            .allow("ppoll", because: "wait on the signalfd (SIGCHLD, SIGINT, SIGTERM), the status socket and the report pipe"),
        ])

    /// The sealed parent of a VM without a cgroup.kill to end it by (no cgroup v2 hierarchy, an
    /// unregistered VM, a kernel before 5.14): it signals its children itself, as root keeping
    /// CAP_KILL for that (ParentSeal).
    public static let sealedParentSignalling = Profile(
        name: "parent-kill",
        summary: "the sealed parent of a VM without a cgroup: also signals its children",
        includes: [.sealedParent],
        rules: [
            .allow("kill", because: "end the remaining children (SIGTERM, then SIGKILL) when one dies"),
        ])
}
