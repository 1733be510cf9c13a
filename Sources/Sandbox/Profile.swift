/// An allow list for one process or thread role: shared bases it includes (like crosvm's
/// `@include common_device.policy`), whole syscall groups, and single rules with argument
/// conditions. Everything not allowed gets the filter's default action (kill the process).
public struct Profile: Sendable {
    public let name: String
    public let summary: String
    public let includes: [Profile]
    public let groups: [SyscallGroup]
    /// Members of these groups are taken out of `groups` (systemd's `~@group`).
    public let excludedGroups: [SyscallGroup]
    public let rules: [SyscallRule]

    public init(
        name: String, summary: String, includes: [Profile] = [], groups: [SyscallGroup] = [],
        excluding excludedGroups: [SyscallGroup] = [], rules: [SyscallRule] = []
    ) {
        self.name = name
        self.summary = summary
        self.includes = includes
        self.groups = groups
        self.excludedGroups = excludedGroups
        self.rules = rules
    }

    /// Every native syscall the profile allows, mapped to the rules that allow it (any one
    /// matching rule allows the call). Own rules replace included ones for the same call,
    /// and included ones replace group membership, so a base can narrow a group's call.
    public var allowList: [String: [SyscallRule]] {
        var result: [String: [SyscallRule]] = [:]
        let excluded = excludedGroups.reduce(into: Set<String>()) { $0.formUnion($1.syscallNames) }
        for group in groups {
            for name in group.syscallNames.subtracting(excluded) where result[name] == nil {
                result[name] = [.allow(name, because: "member of \(group.rawValue)")]
            }
        }
        var fromIncludes: [String: [SyscallRule]] = [:]
        for base in includes {
            for (name, rules) in base.allowList { fromIncludes[name, default: []] += rules }
        }
        result.merge(fromIncludes) { _, included in included }
        result.merge(Dictionary(grouping: rules, by: \.syscall)) { _, own in own }
        return result.filter { Syscall(named: $0.key) != nil }
    }

    /// The filter's answer for a native call: the first matching rule's answer, or nil when
    /// the call gets the default action.
    public func answer(for syscall: String, arguments: [UInt64]) -> FilterAnswer? {
        allowList[syscall]?.first { $0.matches(arguments) }?.answer
    }
}
