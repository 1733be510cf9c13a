extension Profile {
    /// The `control` thread: talks to the parent and the helpers over their sockets and
    /// ends the VM. Stacked on `worker-base`.
    public static let controlThread = Profile(
        name: "control",
        summary: "parent and helper sockets, VM lifecycle",
        includes: [.threadRuntime],
        rules: [
            .allow("recvmsg", because: "replies and fds from the helpers, parent requests"),
            .allow("sendmsg", because: "requests to the helpers, status to the parent"),
            .allow("ppoll", because: "wait on the sockets"),
            .allow("read", because: "drain the shutdown eventfd"),
            .allow("write", because: "wake other threads through eventfds; log lines"),
            .allow("close", because: "drop fds a helper sent that are no longer needed"),
            .allow("tgkill", because: "kick vCPU threads out of KVM_RUN to pause them (ctl pause, reset)"),
            .allow(
                "ioctl", where: .arg(1, .equal(KernelConstant.kvmSetRegs)),
                because: "ctl reset: each paused vCPU's registers back to where it started"),
            .allow(
                "ioctl", where: .arg(1, .equal(KernelConstant.kvmSetSregs)),
                because: "ctl reset: each paused vCPU's segment and control registers back to where it started"),
        ])
}
