/// What a filter answers a call that a rule matches.
public enum FilterAnswer: Hashable, Sendable {
    case allow
    /// Fail the call with this errno instead of running it (e.g. clone3 → ENOSYS).
    case errno(Int32)
}

/// One allowed (or gracefully refused) syscall, with the conditions its arguments must meet
/// and the reason it is in the profile.
public struct SyscallRule: Hashable, Sendable {
    public let syscall: String
    public let conditions: [ArgumentCondition]
    public let answer: FilterAnswer
    public let reason: String

    public static func allow(
        _ syscall: String, where conditions: ArgumentCondition..., because reason: String
    ) -> SyscallRule {
        SyscallRule(syscall: syscall, conditions: conditions, answer: .allow, reason: reason)
    }

    public static func fail(_ syscall: String, errno: Int32, because reason: String) -> SyscallRule
    {
        SyscallRule(syscall: syscall, conditions: [], answer: .errno(errno), reason: reason)
    }

    public func matches(_ arguments: [UInt64]) -> Bool {
        conditions.allSatisfy { $0.holds(for: arguments) }
    }
}
