import Sandbox
import Testing

/// ioctl requests the profiles once allowed although no code of the role made them (issue 13):
/// registers are set on the main thread before any filter, and taps carry plain frames.
struct RemovedIoctl: CustomStringConvertible, Sendable {
    let name: String
    let request: UInt64
    let role: Role
    var description: String { "\(role.rawValue) \(name)" }

    static let vcpu = [
        RemovedIoctl(name: "KVM_GET_REGS", request: 0x8090_AE81, role: .vcpu),  // _IOR(KVMIO, 0x81, struct kvm_regs)
        RemovedIoctl(name: "KVM_SET_REGS", request: 0x4090_AE82, role: .vcpu),  // _IOW(KVMIO, 0x82, struct kvm_regs)
        RemovedIoctl(name: "KVM_GET_SREGS", request: 0x8138_AE83, role: .vcpu),  // _IOR(KVMIO, 0x83, struct kvm_sregs)
    ]
    static let net = [
        RemovedIoctl(name: "TUNSETVNETHDRSZ", request: 0x4004_54D8, role: .net),  // _IOW('T', 216, int)
        RemovedIoctl(name: "TUNSETOFFLOAD", request: 0x4004_54D0, role: .net),  // _IOW('T', 208, unsigned int)
    ]
}

/// A confined thread or helper that makes one of them now dies with SIGSYS.
@Suite struct RemovedIoctlTests {
    @Test(arguments: RemovedIoctl.vcpu + RemovedIoctl.net)
    func removedIoctlKillsTheRole(_ ioctl: RemovedIoctl) throws {
        let outcome = try runProbe(probeArguments(role: ioctl.role, call: "ioctl", arguments: ["0", String(ioctl.request), "0"]))
        #expect(outcome.killedBySIGSYS, "\(ioctl): \(outcome)")
    }
}

/// The test of the test: the request each role kept reaches the kernel (EBADF on fd -1).
@Suite struct KeptIoctlTests {
    @Test(arguments: [(Role.vcpu, KernelConstant.kvmRun), (Role.net, KernelConstant.tunSetIff)])
    func keptIoctlReachesTheKernel(_ role: Role, _ request: UInt64) throws {
        let outcome = try runProbe(probeArguments(role: role, call: "ioctl", arguments: ["-1", String(request), "0"]))
        #expect(outcome.end == .exited(0) && outcome.result == -9, "\(role.rawValue): \(outcome)")
    }
}
