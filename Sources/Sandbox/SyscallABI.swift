/// The x86_64 kernel's three syscall ABIs. Profiles allow only `native` calls; a call through
/// `i386` (int 0x80) or `x32` (syscall with bit 30 set) gets the filter's bad-architecture
/// action, which is kill-process.
public enum SyscallABI: String, CaseIterable, Sendable {
    case native = "x86_64"
    case i386
    case x32

    /// libseccomp's token for the ABI: the kernel's AUDIT_ARCH_* value (linux/audit.h).
    /// `SCMP_ARCH_*` are composite macros Swift does not import.
    public var auditArch: UInt32 {
        switch self {
        case .native: 0xC000_003E  // AUDIT_ARCH_X86_64
        case .i386: 0x4000_0003  // AUDIT_ARCH_I386
        case .x32: 0x4000_003E  // SCMP_ARCH_X32: EM_X86_64 without the 64-bit flag
        }
    }

    /// The ABI a kernel record or SIGSYS siginfo names by its AUDIT_ARCH_* value. An x32
    /// call reports AUDIT_ARCH_X86_64 with bit 30 in the number (see `Syscall.init(number:)`).
    public init?(auditArch: UInt32) {
        guard let abi = Self.allCases.first(where: { $0.auditArch == auditArch && $0 != .x32 })
        else { return nil }
        self = abi
    }
}
