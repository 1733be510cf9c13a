extension Profile {
    /// `bulkhead` after it has launched everything and sealed itself: it only supervises.
    /// It waits for children, ends them, relays reports and removes what it created.
    public static let sealedParent = Profile(
        name: "parent",
        summary: "the supervisor after sealing: wait, signal, report, clean up",
        includes: [.helperRuntime],
        rules: [
            .allow("wait4", because: "reap children and learn how they ended"),
            .allow("kill", because: "end the remaining children when one dies"),
            .allow("ppoll", because: "wait on children's status sockets and signals"),
            .allow("unlinkat", because: "remove the runtime files it created"),
        ])
}
