import Sandbox
import Testing

/// The heart of the sandbox: a confined process that makes a call its role does not allow
/// dies at once with SIGSYS, whichever ABI it uses.
@Suite struct KillTests {
    @Test(arguments: KillCase.all(abi: .native))
    func forbiddenCallKillsTheProcess(_ kill: KillCase) throws {
        let outcome = try runProbe(probeArguments(role: kill.role, call: kill.call.name, arguments: kill.call.arguments))
        #expect(outcome.killedBySIGSYS, "\(kill): \(outcome)")
    }

    @Test(arguments: KillCase.all(abi: .i386))
    func forbiddenCallThroughI386ABIKillsTheProcess(_ kill: KillCase) throws {
        let outcome = try runProbe(
            probeArguments(role: kill.role, abi: .i386, call: kill.call.name, arguments: kill.call.arguments))
        #expect(outcome.killedBySIGSYS, "\(kill): \(outcome)")
    }

    @Test(arguments: KillCase.all(abi: .x32))
    func forbiddenCallThroughX32ABIKillsTheProcess(_ kill: KillCase) throws {
        let outcome = try runProbe(
            probeArguments(role: kill.role, abi: .x32, call: kill.call.name, arguments: kill.call.arguments))
        #expect(outcome.killedBySIGSYS, "\(kill): \(outcome)")
    }

    /// Even a call every role allows is killed when it comes through a foreign ABI.
    @Test(arguments: DangerousCall.confinedRoles, [SyscallABI.i386, .x32])
    func allowedCallThroughForeignABIKillsTheProcess(_ role: Role, _ abi: SyscallABI) throws {
        let outcome = try runProbe(probeArguments(role: role, abi: abi, call: "write", arguments: []))
        #expect(outcome.killedBySIGSYS, "\(role.rawValue) \(abi.rawValue) write: \(outcome)")
    }

    @Test(arguments: DangerousCall.confinedRoles)
    func everyConfinedRoleRefusesAtLeastThirtyDangerousCalls(_ role: Role) {
        let refused = DangerousCall.refused(by: role)
        #expect(refused.count >= 30, "\(role.rawValue) refuses only \(refused.map(\.name))")
    }

    @Test(arguments: [Role.workerBase, .control, .vcpu, .io])
    func everyWorkerRoleRefusesTheIssuesList(_ role: Role) {
        let refused = Set(DangerousCall.refused(by: role).map(\.name))
        let allowed = DangerousCall.mustDieInEveryWorkerRole.subtracting(refused)
        #expect(allowed.isEmpty, "\(role.rawValue) lets through \(allowed.sorted())")
    }
}

/// The test of the tests: without a filter the same calls are made and survive, so the
/// kill tests above would fail if a filter let a call through.
@Suite struct UnfilteredProbeTests {
    @Test(arguments: DangerousCall.catalog)
    func dangerousCallSurvivesWithoutAFilter(_ call: DangerousCall) throws {
        let outcome = try runProbe(probeArguments(role: .vcpu, mode: .none, call: call.name, arguments: call.arguments))
        #expect(outcome.end == .exited(0) && outcome.result != nil, "\(call): \(outcome)")
    }

    @Test(arguments: [SyscallABI.i386, .x32])
    func foreignABICallReachesTheKernelWithoutAFilter(_ abi: SyscallABI) throws {
        let outcome = try runProbe(probeArguments(role: .vcpu, mode: .none, abi: abi, call: "getpid", arguments: []))
        // i386 getpid answers the pid; a kernel built without x32 answers ENOSYS: either way
        // the call reached the kernel's syscall table instead of killing the process.
        #expect(outcome.end == .exited(0), "\(outcome)")
        #expect(abi == .x32 ? outcome.result == -38 || (outcome.result ?? 0) > 0 : (outcome.result ?? 0) > 0)
    }
}
