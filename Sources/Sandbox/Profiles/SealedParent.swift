extension Profile {
    /// `bulkhead` after it has launched everything and sealed itself: it only supervises.
    /// It waits for children, ends them and relays reports (it reads /dev/kmsg through an fd
    /// opened before sealing). Its own rules, not the helpers' floor, each exercised by
    /// `make profile-coverage` (Tests/CoverageTests) or declaring the path it serves.
    /// It ends its children without kill(2): a `stop` message to the worker, hang-ups to the
    /// helpers, then "1" written to the VM cgroup's cgroup.kill (an fd opened before sealing).
    /// Without kill a capless uid-0 parent cannot signal the host's other root processes either.
    /// unlinkat: the VM's runtime registry entry (/run/bulkhead/NAME) and its cgroup directory
    /// are removed at the end, through directory fds opened before sealing; the --console file
    /// is the operator's and stays.
    /// The VM's control socket (`--name`, README "Operating a running VM") is served here
    /// too: accept4 only on its listening fd, getsockopt only for the peer's credentials,
    /// clock_gettime for uptime and the stop timeout, recvmsg and sendmsg for its messages.
    public static let sealedParent = Profile(
        name: "parent",
        summary: "the supervisor after sealing: wait, report, end the VM through its cgroup, clean up",
        rules: [
            .allow("ppoll", because: "wait on the signalfd (SIGCHLD, SIGINT, SIGTERM), the status socket, the report pipe, the control socket, the console input (stdin, the pipe to the worker) and the console tee"),
            .allow("read", because: "signals from the signalfd, the worker's status and reports, /dev/kmsg, console input on stdin, the console tee while `bulkhead console` is attached"),
            .allow("write", because: "`stop`, `pause` and `resume` to the worker, \"1\" to cgroup.kill, report lines to stderr, console input into the pipe to the worker"),
            .allow("recvmsg", because: "control-socket requests"),
            .allow("sendmsg", because: "control-socket replies; under systemd (JOURNAL_STREAM) its lines as sd_journal_send datagrams"),
            .allow("wait4", because: "reap children and learn how they ended; wait for the terminal keeper"),
            .allow("close", because: "hang up on the helpers so they end; control-socket connections; the console pipes (end of input, the terminal keeper's)"),
            .allow("unlinkat", because: "remove the VM's runtime registry entry and its cgroup when it ends"),
            .allow("exit_group", because: "exit with the VM's status"),
            .allow(
                "brk", because: "malloc's main arena: report lines, status messages, control requests",
                unexercised: .path(
                    "malloc grows or trims the main arena past the break it had at sealing (a run may not)",
                    test: "HeapGrowthTests/heapGrowsAndShrinksUnderEveryRole")),
            .allow(
                "accept4",
                where: .arg(0, .equal(UInt64(KernelConstant.controlListeningFD))), .arg(1, .equal(0)), .arg(2, .equal(0)),
                .arg(3, .equal(KernelConstant.sockCloexec | KernelConstant.sockNonblock)),
                because: "accept a control-socket connection on its listening fd (non-blocking, close-on-exec, no address)"),
            .allow(
                "getsockopt",
                where: .arg(1, .equal(KernelConstant.solSocket)), .arg(2, .equal(KernelConstant.soPeerCred)),
                because: "SO_PEERCRED: the uid and gid of each control-socket peer, checked before it is served"),
            .allow(
                "getsockopt",
                where: .arg(1, .equal(KernelConstant.solSocket)), .arg(2, .equal(KernelConstant.soPeerGroups)),
                because: "SO_PEERGROUPS: the peer's supplementary groups, for --control-group"),
            .allow(
                "clock_gettime", because: "the control socket's uptime and stop timeout",
                unexercised: .path(
                    "the vDSO answers clock_gettime without entering the kernel wherever the clocksource allows it, as here",
                    test: "ControlSocketTests/infoReportsTheVMAndPauseHoldsTheGuestUntilResume")),
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
