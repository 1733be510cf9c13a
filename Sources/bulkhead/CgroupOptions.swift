import ArgumentParser

/// `bulkhead run` options for the VM's cgroup v2 (DESIGN.md §7, VMCgroup). Taken as text and
/// checked by CgroupSetup, so a bad value is a configuration error (exit 65) naming the option.
struct CgroupOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            """
            Limit the memory of all the VM's processes to SIZE (e.g. 512M, 2G; K/M/G/T are powers \
            of 1024): memory.max of its cgroup v2. Refused (exit 65) where the memory controller is \
            not in the v2 hierarchy.
            """, valueName: "SIZE"))
    var memoryLimit: String?

    @Option(
        help: ArgumentHelp(
            """
            Limit the VM's processes and threads to N in all (1...4194304): pids.max of its cgroup v2. \
            Refused (exit 65) where the pids controller is not in the v2 hierarchy.
            """, valueName: "N"))
    var pidsLimit: String?
}
