import CWorker
import Glibc
import SystemPackage

/// One vCPU fd and its kvm_run page. After set-up it belongs to one thread, which calls
/// `run()` and handles the exit it returns.
public final class VCPU: @unchecked Sendable {
    // Sendable: created by the main thread, then handed to exactly one vCPU thread.
    public let id: UInt32
    public let fd: FileDescriptor
    private let runPage: UnsafeMutableRawPointer
    private let runSize: Int

    init(id: UInt32, fd: FileDescriptor, run: UnsafeMutableRawPointer, runSize: Int) {
        self.id = id
        self.fd = fd
        self.runPage = run
        self.runSize = runSize
    }

    private var kvmRun: UnsafeMutablePointer<kvm_run> { runPage.assumingMemoryBound(to: kvm_run.self) }

    /// KVM_SET_REGS.
    public func setRegisters(_ regs: kvm_regs) throws {
        var regs = regs
        _ = try kvmIoctl(fd, bh_kvm_set_regs, "KVM_SET_REGS", &regs)
    }

    /// KVM_GET_SREGS.
    public func specialRegisters() throws -> kvm_sregs {
        var sregs = kvm_sregs()
        _ = try kvmIoctl(fd, bh_kvm_get_sregs, "KVM_GET_SREGS", &sregs)
        return sregs
    }

    /// KVM_SET_SREGS.
    public func setSpecialRegisters(_ sregs: kvm_sregs) throws {
        var sregs = sregs
        _ = try kvmIoctl(fd, bh_kvm_set_sregs, "KVM_SET_SREGS", &sregs)
    }

    /// KVM_SET_CPUID2.
    public func setCPUID(_ table: CPUID) throws {
        let buffer = CPUIDBuffer(table)
        _ = try kvmIoctl(fd, bh_kvm_set_cpuid2, "KVM_SET_CPUID2", buffer.raw)
    }

    /// KVM_SET_MP_STATE(KVM_MP_STATE_RUNNABLE): with an in-kernel irqchip, vCPUs other than
    /// 0 start waiting for INIT/SIPI; this lets one enter the guest at the registers we set.
    public func makeRunnable() throws {
        var state = kvm_mp_state(mp_state: UInt32(KVM_MP_STATE_RUNNABLE))
        _ = try kvmIoctl(fd, bh_kvm_set_mp_state, "KVM_SET_MP_STATE", &state)
    }

    /// KVM_GET_TSC_KHZ: the guest's TSC frequency.
    public func tscKHz() throws -> UInt64 {
        UInt64(try kvmIoctl(fd, bh_kvm_get_tsc_khz, "KVM_GET_TSC_KHZ"))
    }

    /// kvm_run.immediate_exit: while set, KVM_RUN returns EINTR at once instead of entering
    /// the guest. Set by another thread (pause) before it kicks this one with a signal, so
    /// a kick that lands just before KVM_RUN is not lost; cleared by the vCPU thread itself.
    public func setImmediateExit(_ on: Bool) {
        kvmRun.pointee.immediate_exit = on ? 1 : 0
    }

    /// KVM_RUN: runs the guest until it exits to us. EINTR comes back as `.interrupted`.
    public func run() throws -> VCPUExit {
        if ioctlInt(fd.rawValue, bh_kvm_run, 0) < 0 {
            let e = Errno.current
            if e == .interrupted || e == .resourceTemporarilyUnavailable { return .interrupted }
            throw KVMError.system(call: "KVM_RUN", errno: e)
        }
        let r = kvmRun
        let reason = bh_kvm_run_exit_reason(r)
        switch Int32(reason) {
        case KVM_EXIT_IO:
            let io = bh_kvm_run_io(r)
            return .io(PortIO(port: io.port, isWrite: io.direction == KVM_EXIT_IO_OUT, size: Int(io.size), count: Int(io.count), data: io.data))
        case KVM_EXIT_MMIO:
            let m = bh_kvm_run_mmio(r)
            return .mmio(address: m.address, isWrite: m.is_write != 0, data: m.data, length: Int(m.length))
        case KVM_EXIT_HLT: return .halt
        case KVM_EXIT_SHUTDOWN: return .shutdown
        case KVM_EXIT_FAIL_ENTRY: return .failEntry(reason: bh_kvm_run_fail_entry_reason(r))
        case KVM_EXIT_INTERNAL_ERROR: return .internalError(suberror: bh_kvm_run_internal_suberror(r))
        case KVM_EXIT_SYSTEM_EVENT: return .systemEvent(type: bh_kvm_run_system_event_type(r))
        case KVM_EXIT_INTR: return .interrupted
        default: return .other(reason: reason)
        }
    }
}

/// One port access the guest made (KVM_EXIT_IO). For a read, fill `data` before the next run.
public struct PortIO {
    public let port: UInt16
    public let isWrite: Bool
    /// Bytes per access: 1, 2 or 4.
    public let size: Int
    /// Accesses (more than one for rep ins/outs).
    public let count: Int
    /// `size * count` bytes inside the kvm_run page.
    public let data: UnsafeMutablePointer<UInt8>

    public init(port: UInt16, isWrite: Bool, size: Int, count: Int, data: UnsafeMutablePointer<UInt8>) {
        self.port = port
        self.isWrite = isWrite
        self.size = size
        self.count = count
        self.data = data
    }

    /// The first access's value, little-endian, for a write.
    public var value: UInt32 {
        var v: UInt32 = 0
        for i in 0..<min(size, 4) { v |= UInt32(data[i]) << (8 * i) }
        return v
    }

    /// Answers a read: every access gets `value` (truncated to the access size).
    public func answer(_ value: UInt32) {
        for a in 0..<count {
            for i in 0..<size { data[a * size + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
    }
}

/// Why KVM_RUN returned.
public enum VCPUExit {
    case io(PortIO)
    case mmio(address: UInt64, isWrite: Bool, data: UnsafeMutablePointer<UInt8>, length: Int)
    case halt
    /// Triple fault (or a shutdown the guest asked for): the VM cannot continue.
    case shutdown
    case failEntry(reason: UInt64)
    case internalError(suberror: UInt32)
    case systemEvent(type: UInt32)
    /// A signal interrupted KVM_RUN (EINTR) or asked us to come out (KVM_EXIT_INTR).
    case interrupted
    case other(reason: UInt32)
}
