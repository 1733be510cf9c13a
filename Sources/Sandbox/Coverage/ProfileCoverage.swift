/// Which rules of which role the traced scenarios needed, and which calls no rule allowed
/// (`make profile-coverage`, README "Profile coverage"). A call passes every filter its
/// thread had loaded, so it exercises the first matching rule of each layer: a vCPU's futex
/// is worker-base's futex rule and vcpu's.
public struct ProfileCoverage: Sendable {
    public struct Use: Hashable, Sendable {
        public let role: Role
        public let rule: SyscallRule
    }

    /// A call a layer has no rule for: killed in kill mode, logged in log mode.
    public struct Unallowed: Hashable, Sendable, CustomStringConvertible {
        public let role: Role
        public let thread: String
        public let call: String
        public let arguments: [UInt64]
        public var description: String {
            "\(call)(\(arguments.map { hex($0) }.joined(separator: ", "))) on \(thread)"
        }
    }

    public private(set) var scenariosByUse: [Use: Set<String>] = [:]
    public private(set) var unallowed: [Unallowed: Set<String>] = [:]
    public private(set) var scenarios: [String] = []

    public init() {}

    public mutating func add(_ calls: [AttributedCall], scenario: String) {
        scenarios.append(scenario)
        for attributed in calls {
            let call = attributed.call
            for role in attributed.layers {
                // Every matching rule is credited: a base that merges its roles (worker-base)
                // holds several unconditional rules for one call, and any one of them suffices.
                let matching = (role.profile.allowList[call.name] ?? []).filter { $0.matches(call.arguments) }
                for rule in matching { scenariosByUse[Use(role: role, rule: rule), default: []].insert(scenario) }
                if matching.isEmpty {
                    let entry = Unallowed(role: role, thread: attributed.thread, call: call.name, arguments: call.arguments)
                    unallowed[entry, default: []].insert(scenario)
                }
            }
        }
    }

    /// Every rule the role's filter holds, in `bulkhead profiles` order. For a thread role the
    /// rules of its own filter (what its base also allows); the base is covered as its own role.
    public static func rules(of role: Role) -> [SyscallRule] {
        let list = role.stackedOn == nil ? role.profile.allowList : role.effectiveAllowList
        var seen = Set<SyscallRule>()
        return list.keys.sorted().flatMap { list[$0]! }.filter { seen.insert($0).inserted }
    }

    /// A rule that only names its group (`member of @basic-io`) declares a breadth, not a
    /// need: the hook programs' set, whose calls the project cannot know. Reported, not failed.
    public static func isGroupMembership(_ rule: SyscallRule) -> Bool {
        rule.conditions.isEmpty && rule.reason.hasPrefix("member of @")
    }

    /// The scenarios that exercised `rule` for `role`: in the role's own filter, or, for a
    /// rule the role takes from a shared base (thread-runtime, helper-runtime), in any role
    /// that includes that base: the base is one declaration, its rules are needed when one
    /// of its users needs them.
    public func scenarios(using rule: SyscallRule, in role: Role) -> Set<String> {
        var found = scenariosByUse[Use(role: role, rule: rule)] ?? []
        for base in Self.bases(of: role.profile) where base.rules.contains(rule) {
            for other in Role.allCases where other != role && (other.profile.name == base.name || Self.includes(other.profile, base)) {
                found.formUnion(scenariosByUse[Use(role: other, rule: rule)] ?? [])
            }
        }
        return found
    }

    /// Whether the coverage run must show the rule needed: an allow rule of an explicit
    /// profile. A refusal (`.fail`) narrows what would otherwise be allowed or killed; a
    /// profile built from groups (exec's hook programs) declares a breadth for programs the
    /// project does not write, and so does one that includes such a profile (exec-service,
    /// the exec unit's union of server and launcher). Both are reported, never failed.
    public static func mustBeExercised(_ rule: SyscallRule, in role: Role) -> Bool {
        rule.answer == .allow && ([role.profile] + bases(of: role.profile)).allSatisfy(\.groups.isEmpty)
    }

    /// Rules nothing exercised that declare no unexercised path: each is a rule to remove.
    public func unjustified(in role: Role) -> [SyscallRule] {
        Self.rules(of: role).filter {
            Self.mustBeExercised($0, in: role) && scenarios(using: $0, in: role).isEmpty && $0.unexercised == nil
        }
    }

    private static func bases(of profile: Profile) -> [Profile] {
        profile.includes.flatMap { [$0] + bases(of: $0) }
    }

    private static func includes(_ profile: Profile, _ base: Profile) -> Bool {
        bases(of: profile).contains { $0.name == base.name }
    }

    /// The report: per role each rule with the scenarios that exercised it, then the calls
    /// no rule allowed (`expected` scenarios make forbidden calls on purpose).
    public func report(roles: [Role] = Role.allCases, expectingForbidden expected: Set<String> = []) -> String {
        var out = "profile coverage: \(scenarios.count) scenarios (\(scenarios.joined(separator: ", ")))\n"
        for role in roles {
            let rules = Self.rules(of: role)
            let groups = rules.filter(Self.isGroupMembership)
            let used = rules.filter { !scenarios(using: $0, in: role).isEmpty }
            out += "\n\(role.rawValue): \(used.count) of \(rules.count) rules exercised\n"
            for rule in rules where !Self.isGroupMembership(rule) {
                let label = ([rule.syscall] + rule.conditions.map(\.description)).joined(separator: " if ")
                let by = scenarios(using: rule, in: role).sorted()
                if !by.isEmpty {
                    out += "  \(label): \(by.joined(separator: ", "))\n"
                } else if !Self.mustBeExercised(rule, in: role) {
                    out += "  \(label): unexercised (\(rule.answer == .allow ? "a group profile's breadth" : "a refusal"))\n"
                } else if let path = rule.unexercised {
                    out += "  \(label): unexercised, declared: \(path.path) (driven by \(path.test))\n"
                } else {
                    out += "  \(label): UNEXERCISED, no declared path: remove the rule (\(rule.reason))\n"
                }
            }
            if !groups.isEmpty {
                let usedGroups = groups.filter { !scenarios(using: $0, in: role).isEmpty }.map(\.syscall)
                out += "  \(groups.count) calls allowed as group members, \(usedGroups.count) made: \(usedGroups.joined(separator: " "))\n"
            }
            let drift = unallowed.filter { $0.key.role == role && !$0.value.isSubset(of: expected) }
            for (entry, by) in drift.sorted(by: { $0.key.description < $1.key.description }) {
                out += "  NOT ALLOWED: \(entry) in \(by.sorted().joined(separator: ", "))\n"
            }
        }
        return out
    }

    /// Calls no rule allowed outside the scenarios that make forbidden calls on purpose.
    public func drift(expectingForbidden expected: Set<String> = []) -> [Unallowed] {
        unallowed.filter { !$0.value.isSubset(of: expected) }.map(\.key)
    }
}
