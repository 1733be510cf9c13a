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
    /// Why no scenario of the coverage run (`make profile-coverage`) makes this call, and the
    /// test that drives its path instead. Nil: the coverage run must exercise the rule.
    public let unexercised: UnexercisedPath?

    public static func allow(
        _ syscall: String, where conditions: ArgumentCondition..., because reason: String,
        unexercised: UnexercisedPath? = nil
    ) -> SyscallRule {
        SyscallRule(syscall: syscall, conditions: conditions, answer: .allow, reason: reason, unexercised: unexercised)
    }

    public static func fail(
        _ syscall: String, errno: Int32, because reason: String, unexercised: UnexercisedPath? = nil
    ) -> SyscallRule {
        SyscallRule(syscall: syscall, conditions: [], answer: .errno(errno), reason: reason, unexercised: unexercised)
    }

    public func matches(_ arguments: [UInt64]) -> Bool {
        conditions.allSatisfy { $0.holds(for: arguments) }
    }
}

/// A call path the coverage run does not take (a fatal error, a systemd-only start), named
/// with the test that takes it: `Suite/function` in Tests/, which ProfileCoverageTests checks.
public struct UnexercisedPath: Hashable, Sendable {
    public let path: String
    public let test: String

    public static func path(_ path: String, test: String) -> UnexercisedPath {
        UnexercisedPath(path: path, test: test)
    }
}
