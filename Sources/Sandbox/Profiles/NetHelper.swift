extension Profile {
    /// `bulkhead-net`: opens /dev/net/tun, attaches a declared tap and hands back the fd.
    /// It keeps CAP_NET_ADMIN and nothing else; it creates no socket.
    public static let netHelper = Profile(
        name: "net",
        summary: "attaches declared taps and hands back their fds",
        includes: [.helperRuntime],
        rules: [
            .allow(
                "openat",
                where: .arg(2, .equal(KernelConstant.oRdwr | KernelConstant.oNonblock | KernelConstant.oCloexec)),
                because: "open /dev/net/tun (O_RDWR|O_NONBLOCK|O_CLOEXEC)"),
            .allow(
                "ioctl", where: .arg(1, .equal(KernelConstant.tunSetIff)),
                because: "TUNSETIFF: attach the declared tap (IFF_TAP|IFF_NO_PI: plain frames, no offloads)"),
            .acceptActivatedConnection,
        ])
}
