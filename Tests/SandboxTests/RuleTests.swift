import Glibc
import Sandbox
import Testing

/// Every rule both ways, as Firecracker's seccomp tests do: each allowed call with accepted
/// arguments survives, each argument condition with a refused value kills.
@Suite struct RuleTests {
    static let roles = Role.allCases

    /// Calls whose benign form does not return normally, and how they end instead.
    static func expectedEnd(of rule: RuleCase) -> ProbeOutcome.End? {
        switch rule.rule.syscall {
        case "exit_group": .exited(255)  // exit_group(-1)
        case "exit": rule.role.isThreadRole ? .exited(0) : .exited(255)  // the thread ends; main goes on
        case "rt_sigreturn": .signaled(SIGSEGV)  // no signal frame to return to
        case "pause": .signaled(SIGALRM)  // waits for a signal: the probe's alarm
        default: nil
        }
    }

    @Test(arguments: roles.flatMap(RuleCase.accepted(role:)))
    func allowedCallWithAcceptedArgumentsSurvives(_ rule: RuleCase) throws {
        #expect(rule.role.answer(for: rule.rule.syscall, arguments: rule.arguments) != nil, "not accepted: \(rule)")
        let outcome = try runProbe(probeArguments(role: rule.role, call: rule.rule.syscall, arguments: rule.probeArguments))
        if let end = Self.expectedEnd(of: rule) {
            #expect(outcome.end == end, "\(rule): \(outcome)")
        } else if case .errno(let code) = rule.rule.answer {
            #expect(outcome.result == -Int(code), "\(rule) should fail with errno \(code): \(outcome)")
        } else {
            #expect(outcome.end == .exited(0) && outcome.result != nil, "\(rule): \(outcome)")
        }
    }

    @Test(arguments: roles.flatMap(RuleCase.violating(role:)))
    func conditionViolatedKills(_ rule: RuleCase) throws {
        let outcome = try runProbe(probeArguments(role: rule.role, call: rule.rule.syscall, arguments: rule.probeArguments))
        #expect(outcome.killedBySIGSYS, "\(rule): \(outcome)")
    }

    @Test(arguments: roles)
    func everyConditionHasAViolatingCase(_ role: Role) {
        let conditions = RuleCase.accepted(role: role).reduce(0) { $0 + $1.rule.conditions.count }
        // A condition another rule makes redundant has no violating value; none of ours is.
        #expect(RuleCase.violating(role: role).count == conditions)
    }
}
