extension SyscallGroup {
    /// Every syscall name in the group, nested groups expanded. Includes names that are not
    /// x86_64 calls, exactly as systemd lists them.
    public var syscallNames: Set<String> {
        var names = Set<String>()
        for member in listedMembers {
            if member.hasPrefix("@"), let nested = SyscallGroup(rawValue: member) {
                names.formUnion(nested.syscallNames)
            } else {
                names.insert(member)
            }
        }
        return names
    }

    /// The groups a syscall belongs to (most specific first: the smallest group).
    public static func groups(containing name: String) -> [SyscallGroup] {
        allCases.filter { $0.syscallNames.contains(name) }
            .sorted { $0.syscallNames.count < $1.syscallNames.count }
    }
}
