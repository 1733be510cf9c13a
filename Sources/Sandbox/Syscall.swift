import CSeccomp
import Glibc

/// One system call of one ABI, by name and number. Numbers come from libseccomp's tables,
/// so they match what the kernel and the filters see.
public struct Syscall: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let number: Int32
    public let abi: SyscallABI

    /// The x32 marker bit the kernel sees in an x32 call's number.
    public static let x32Bit: Int32 = 0x4000_0000

    /// `seccomp_syscall_resolve_name_arch`. Nil when the ABI has no such call.
    public init?(named name: String, abi: SyscallABI = .native) {
        let number = seccomp_syscall_resolve_name_arch(abi.auditArch, name)
        guard number >= 0 else { return nil }
        // libseccomp leaves the x32 marker bit off its x32 table numbers.
        self.init(name: name, number: abi == .x32 ? number | Self.x32Bit : number, abi: abi)
    }

    /// `seccomp_syscall_resolve_num_arch`. Nil when the number means nothing to the ABI.
    public init?(number: Int32, abi: SyscallABI = .native) {
        let isX32 = abi == .native && number & Self.x32Bit != 0
        let abi = isX32 ? SyscallABI.x32 : abi
        guard let cName = seccomp_syscall_resolve_num_arch(abi.auditArch, number & ~Self.x32Bit)
        else { return nil }
        defer { free(cName) }
        self.init(name: String(cString: cName), number: number, abi: abi)
    }

    private init(name: String, number: Int32, abi: SyscallABI) {
        self.name = name
        self.number = number
        self.abi = abi
    }

    public var description: String {
        abi == .native ? "\(name) (\(number))" : "\(name) (\(abi.rawValue) \(number))"
    }
}
