import Sandbox

/// One rule of a role's effective allow list, tried both ways: with arguments the rule
/// accepts (the call must survive) and, per condition, with one argument changed so that no
/// rule of any stacked filter accepts it (the call must kill).
struct RuleCase: CustomStringConvertible, Sendable {
    let role: Role
    let rule: SyscallRule
    /// As the probe takes them: numbers, or `timespec0` for a pointer to a zero timeout.
    let probeArguments: [String]
    /// As the filter compares them.
    var arguments: [UInt64] { DangerousCall(rule.syscall, probeArguments).comparedWords }
    var description: String { "\(role.rawValue) \(rule.syscall)(\(probeArguments.joined(separator: ", ")))" }

    /// Benign arguments where -1 everywhere would block or leave something behind.
    static let benignOverrides: [String: [String]] = [
        "ppoll": ["0", "0", "timespec0", "0", "8", "0"],  // no fds, zero timeout
        "msgget": ["-1", "0", "0", "0", "0", "0"],  // no IPC_CREAT: nothing is created
    ]

    static func accepted(role: Role) -> [RuleCase] {
        role.effectiveAllowList.sorted { $0.key < $1.key }.flatMap { name, rules in
            rules.map { rule in
                var words = benignOverrides[name] ?? Array(repeating: "-1", count: 6)
                for condition in rule.conditions { words[condition.index] = condition.satisfyingValue.argument }
                return RuleCase(role: role, rule: rule, probeArguments: words)
            }
        }
    }

    /// Each condition of each rule, violated on its own.
    static func violating(role: Role) -> [RuleCase] {
        accepted(role: role).flatMap { accepted in
            accepted.rule.conditions.compactMap { condition -> RuleCase? in
                for candidate in condition.violatingValues {
                    var words = accepted.probeArguments
                    words[condition.index] = candidate.argument
                    let violating = RuleCase(role: role, rule: accepted.rule, probeArguments: words)
                    if role.answer(for: accepted.rule.syscall, arguments: violating.arguments) == nil {
                        return violating
                    }
                }
                return nil
            }
        }
    }
}

extension ArgumentCondition {
    var satisfyingValue: UInt64 {
        switch comparison {
        case .equal(let v), .lessOrEqual(let v), .greaterOrEqual(let v): v
        case .notEqual(let v): v == .max ? 0 : .max
        case .less(let v): v &- 1
        case .greater(let v): v &+ 1
        case .maskedEqual(_, let v): v
        }
    }

    var violatingValues: [UInt64] {
        switch comparison {
        case .equal(let v): [v ^ 1, v ^ 0x100, 0, ~v]
        case .notEqual(let v): [v]
        case .less(let v), .greaterOrEqual(let v): [v &- (isGreaterOrEqual ? 1 : 0), v]
        case .lessOrEqual(let v): [v &+ 1]
        case .greater(let v): [v]
        case .maskedEqual(let mask, let v): [v ^ (mask & ~(mask &- 1)), v ^ mask]
        }
    }

    private var isGreaterOrEqual: Bool {
        if case .greaterOrEqual = comparison { return true }
        return false
    }
}

extension UInt64 {
    /// The probe's spelling of a 64-bit argument.
    var argument: String { "0x" + String(self, radix: 16) }
}
