extension Profile {
    /// `bulkhead-exec`'s launcher process, forked by the exec server before the server
    /// confines itself: the one process of a VM that may execve. It runs only hooks the
    /// server has already checked, and the hooks inherit this filter, so it must be broad
    /// enough for an ordinary program yet never privileged: systemd's service set without
    /// the groups that administer the machine, and without sockets or new namespaces.
    public static let execHook = Profile(
        name: "exec-hook",
        summary: "the exec helper's hook launcher; the hook programs inherit this filter",
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
            .allow("fadvise64", because: "hook programs advise on file access (coreutils sort does; found by the hook tests)"),
            // @network-io is excluded (no socket may be created or connected); the launcher
            // reads requests from and writes results to its socketpair with read/write.
            .fail("unshare", errno: 1 /* EPERM */, because: "no new namespaces for hooks"),
            .fail("setns", errno: 1 /* EPERM */, because: "no joining other namespaces"),
        ])
}

extension Profile {
    /// `bulkhead-exec`'s server process: it reads requests from its peer, checks each
    /// against the declared hooks (pure checks, no system call), passes a checked request
    /// to its launcher over a socketpair (write) and waits for the result (read). It never
    /// forks, execs, opens or signals anything: that is the launcher's (`exec-hook`).
    public static let execHelper = Profile(
        name: "exec",
        summary: "the exec helper's server: checks requests, passes them to its launcher",
        includes: [.helperRuntime],
        rules: [
            .allow("read", because: "a hook's result from its launcher on the internal socketpair"),
            .acceptActivatedConnection,
        ])
}

extension Profile {
    /// `bulkhead-exec` as a systemd service (`bulkhead units`): the unit's SystemCallFilter=
    /// applies to the whole service, server and launcher alike, before either stacks its
    /// own filter, so it must allow both. Each process then narrows itself to its own.
    /// exec-hook already allows every call of `exec` but its socket calls (@network-io is
    /// excluded there); ProfileTests checks that both are within this one.
    public static let execService = Profile(
        name: "exec-service",
        summary: "the exec helper's unit filter: the union of exec and exec-hook",
        includes: [.execHook],
        rules: [
            .allow("recvmsg", because: "the exec server: requests from the peer"),
            .allow("sendmsg", because: "the exec server: replies to the peer; journal entries"),
            .acceptActivatedConnection,
        ])
}
