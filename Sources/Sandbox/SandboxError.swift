import SystemPackage

/// Why confining a process failed. Every case names the call or the rule at fault.
public enum SandboxError: Error, CustomStringConvertible, Equatable {
    case libseccomp(call: String, errno: Errno)
    case unknownSyscall(String)
    case system(call: String, errno: Errno)

    public var description: String {
        switch self {
        case .libseccomp(let call, let errno): "\(call) failed: \(errno)"
        case .unknownSyscall(let name): "no syscall named \(name) on x86_64"
        case .system(let call, let errno): "\(call) failed: \(errno)"
        }
    }
}
