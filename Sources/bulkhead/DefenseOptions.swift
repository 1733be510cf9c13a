import ArgumentParser

/// `bulkhead run` options for DESIGN.md §7: the VM's name in the runtime registry and the
/// unprivileged identities its children take when the parent runs as root.
struct DefenseOptions: ParsableArguments {
    @Option(help: "Register the VM as NAME in /run/bulkhead/NAME ([A-Za-z0-9_.-], at most 64; default vm-PID).")
    var name: String?

    @Option(
        help: """
            As root: the user the helpers run as (its uid and primary gid, no supplementary groups; net keeps only \
            CAP_NET_ADMIN, block and exec no capability). Each --kernel, --initrd and --disk must be open to it.
            """)
    var user: String = "bulkhead"

    @Option(help: "As root: the worker's uid (and gid) is the lowest of FIRST-LAST no running VM holds.")
    var uidRange: String = "200000-265535"
}
