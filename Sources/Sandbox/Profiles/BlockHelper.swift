extension Profile {
    /// `bulkhead-block`: opens the declared disk, kernel and initrd files and hands back
    /// their fds. Their directories are walked before confinement, one component at a time
    /// without following a link, and held (HostAccess.HeldDirectory); a request opens only
    /// the last name from the held directory, so every openat is one of two exact flag sets:
    /// nothing creates, truncates or follows.
    public static let blockHelper = Profile(
        name: "block",
        summary: "opens declared files race-safely and hands back their fds",
        includes: [.helperRuntime],
        rules: [
            .allow(
                "openat",
                where: .arg(2, .equal(
                    KernelConstant.oNofollow | KernelConstant.oNonblock | KernelConstant.oNoctty
                        | KernelConstant.oCloexec)),
                because: "open a declared file read-only (O_RDONLY|O_NOFOLLOW|O_NONBLOCK)"),
            .allow(
                "openat",
                where: .arg(2, .equal(
                    KernelConstant.oRdwr | KernelConstant.oNofollow | KernelConstant.oNonblock
                        | KernelConstant.oNoctty | KernelConstant.oCloexec)),
                because: "open a declared file read-write (O_RDWR|O_NOFOLLOW|O_NONBLOCK)"),
            .allow(
                "newfstatat", where: .arg(3, .equal(KernelConstant.atEmptyPath)),
                because: "fstat an opened fd: type, device and inode against the declaration"),
            .acceptActivatedConnection,
        ])
}
