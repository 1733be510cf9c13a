extension Profile {
    /// What a single-threaded helper needs to serve requests on its socket: the shared floor
    /// of `block` and `net`. No thread creation, no exec memory, no large allocation (a
    /// message is at most 8 KiB, far below malloc's mmap threshold), no returning signal
    /// handler (a socket-activated helper's SIGTERM handler exits), no restart_syscall (a
    /// stopped and continued helper resumes recvmsg by the call itself).
    public static let helperRuntime = Profile(
        name: "helper-runtime",
        summary: "shared floor of the single-threaded helpers",
        rules: [
            .allow("recvmsg", because: "requests (and fds) from the peer"),
            .allow("sendmsg", because: "replies, with fds in SCM_RIGHTS"),
            .allow("write", because: "log lines to stderr"),
            .allow("close", because: "close fds once handed over, and fds a request carried"),
            .allow(
                "brk", because: "malloc's main arena",
                unexercised: .path(
                    "malloc grows or trims the main arena past the break it had at sealing (a run may not)",
                    test: "HeapGrowthTests/heapGrowsAndShrinksUnderEveryRole")),
            .allow("exit_group", because: "exit"),
        ])
}
