extension Profile {
    /// A vCPU thread (`vcpuN`): runs the guest with KVM_RUN and emulates port and MMIO
    /// exits in place. Stacked on `worker-base`. ioctl is the one hot call that is
    /// argument-checked; everything else is unconditional so the kernel can skip the filter.
    public static let vcpuThread = Profile(
        name: "vcpu",
        summary: "one per vCPU: KVM_RUN and the exits it returns",
        includes: [.threadRuntime],
        rules: [
            .allow("ioctl", where: .arg(1, .equal(KernelConstant.kvmRun)), because: "run the guest"),
            .allow(
                "write",
                because: "serial console bytes to the console fd and the console tee (non-blocking: dropped when full); the UART's irqfd; wake the io thread (receive FIFO half read, an escape-probe @io request)"),
            .allow("rt_sigreturn", because: "return from the empty pause-kick handler that ended KVM_RUN with EINTR"),
        ])
}
