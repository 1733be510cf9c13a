extension Profile {
    /// The `io` thread: virtqueue work for block and net on fds the helpers handed over,
    /// woken by ioeventfds, signalling the guest through irqfds. Stacked on `worker-base`.
    public static let ioThread = Profile(
        name: "io",
        summary: "virtqueue processing on helper-provided disk and tap fds",
        includes: [.threadRuntime],
        rules: [
            .allow("ppoll", because: "wait for ioeventfds, the tap and the console"),
            .allow("read", because: "drain ioeventfds, read console input"),
            .allow("write", because: "signal irqfds"),
            .allow("readv", because: "receive frames from the tap into guest buffers"),
            .allow("writev", because: "send frames from guest buffers to the tap"),
            .allow("preadv", because: "disk reads straight into guest memory"),
            .allow("pwritev", because: "disk writes straight from guest memory"),
            .allow("fdatasync", because: "VIRTIO_BLK_T_FLUSH"),
        ])
}
