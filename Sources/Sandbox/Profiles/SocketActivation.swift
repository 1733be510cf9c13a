extension SyscallRule {
    /// The one call a socket-activated helper (`--listen`, DESIGN.md §8) adds to its
    /// profile: accept the next VM's connection on the listening socket systemd passed as
    /// fd 3 (SD_LISTEN_FDS_START), asking for no peer address, with SOCK_CLOEXEC only.
    /// A helper started by the parent never calls it.
    public static let acceptActivatedConnection = SyscallRule.allow(
        "accept4",
        where: .arg(0, .equal(3)), .arg(1, .equal(0)), .arg(2, .equal(0)), .arg(3, .equal(0o2_000_000)),
        because: "socket activation: the next VM's connection on listening fd 3 (SOCK_CLOEXEC, no address)",
        unexercised: .path(
            "systemd socket activation (--listen): Helper.run's accept loop, shared by all three helpers",
            test: "SocketActivationTests/activatedBlockHelperServesTwoSuccessiveVMSessions"))
}
