extension Profile {
    /// The `control` thread: tells the parent the VM is ready, waits for the end or the
    /// parent's requests (stop, pause, resume, reset), and ends the process. Stacked on `worker-base`. The helpers' fds
    /// arrive on the main thread before any filter, so it holds no socket call.
    public static let controlThread = Profile(
        name: "control",
        summary: "VM lifecycle: ready, the parent's stop, pause, resume and reset, the end",
        includes: [.threadRuntime],
        rules: [
            .allow("ppoll", because: "wait on the wake eventfd and the parent's status socket"),
            .allow("read", because: "the parent's requests (`stop`, `pause`, `resume`, `reset`) on the status socket"),
            .allow("write", because: "`ready`, replies and `poweroff N` to the parent's status fd, error reports to the report fd; on `reset`, the UART's drained eventfd when the io thread waits for room (SerialPort.reset)"),
            .allow("tgkill", because: "kick vCPU threads out of KVM_RUN to pause them (ctl pause, reset; BH_KICK_SIGNAL)"),
            .allow("getpid", because: "the kick's tgkill names this process (bh_kick_thread)"),
            .allow(
                "ioctl", where: .arg(1, .equal(KernelConstant.kvmSetRegs)),
                because: "ctl reset: each paused vCPU's registers back to where it started"),
            .allow(
                "ioctl", where: .arg(1, .equal(KernelConstant.kvmSetSregs)),
                because: "ctl reset: each paused vCPU's segment and control registers back to where it started"),
        ])
}
