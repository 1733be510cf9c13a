extension Profile {
    /// `bulkhead-exec`: the one process that may execve. It runs only operator-declared
    /// hook programs, and those inherit this filter, so it must be broad enough for an
    /// ordinary program yet never privileged: systemd's service set without the groups
    /// that administer the machine, and without sockets or new namespaces.
    public static let execHelper = Profile(
        name: "exec",
        summary: "runs declared hook programs; they inherit this filter",
        groups: [
            .defaultSet, .basicIO, .fileSystem, .ioEvent, .ipc, .process, .signal, .timer,
            .aio, .sync, .resources,
        ],
        excluding: [
            .privileged, .mount, .module, .obsolete, .rawIO, .reboot, .swap, .debug,
            .cpuEmulation, .clock, .keyring, .setuid, .networkIO,
        ],
        rules: [
            .allow("ioctl", because: "hook programs query their terminals and pipes"),
            .allow("madvise", because: "allocators of hook programs"),
            .allow("mremap", because: "allocators of hook programs"),
            .allow("uname", because: "hook programs identify the system"),
            .allow("umask", because: "hook programs set their file mode mask"),
            .allow("setpgid", because: "a hook gets its own process group so it can be ended whole"),
            .allow("sched_getaffinity", because: "programs size their thread pools"),
            .allow("sched_yield", because: "spin-wait loops in hook programs"),
            .allow("sysinfo", because: "hook programs read memory figures"),
            .allow("getcpu", because: "hook programs ask where they run"),
            // @network-io is excluded (no socket may be created or connected); the helper
            // still serves requests on the socket it inherited.
            .allow("recvmsg", because: "requests from the peer on the inherited socket"),
            .allow("sendmsg", because: "replies to the peer on the inherited socket"),
            .acceptActivatedConnection,
            .fail("unshare", errno: 1 /* EPERM */, because: "no new namespaces for hooks"),
            .fail("setns", errno: 1 /* EPERM */, because: "no joining other namespaces"),
        ])
}
