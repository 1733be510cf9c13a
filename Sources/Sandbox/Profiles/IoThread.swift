extension Profile {
    /// The `io` thread: virtqueue work for block and net on fds the helpers handed over,
    /// woken by ioeventfds, and console input into the UART's receiver (ConsoleReceiver),
    /// signalling the guest through irqfds. Stacked on `worker-base`.
    public static let ioThread = Profile(
        name: "io",
        summary: "virtqueue processing on helper-provided disk and tap fds; console input",
        includes: [.threadRuntime],
        rules: [
            .allow("ppoll", because: "wait for ioeventfds, the taps, the console input, the UART's drained eventfd (and the escape probe's)"),
            .allow("read", because: "drain ioeventfds and the wake eventfds, read console input"),
            .allow("write", because: "signal irqfds (virtio devices, the UART's IRQ 4 when input arrives)"),
            .allow("readv", because: "receive frames from the tap into guest buffers"),
            .allow("writev", because: "send frames from guest buffers to the tap"),
            .allow("preadv", because: "disk reads straight into guest memory"),
            .allow("pwritev", because: "disk writes straight from guest memory"),
            .allow("fdatasync", because: "VIRTIO_BLK_T_FLUSH"),
        ])
}
