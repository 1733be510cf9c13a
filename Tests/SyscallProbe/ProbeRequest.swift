import Sandbox

/// What the probe was asked to do, from its argv:
/// `bulkhead-syscall-probe --role R [--mode M] [--abi A] [--also-thread R2] [--load-permissive]
///  [--expect-clone3-enosys] [--grow-heap] CALL [ARG…]`
/// `--grow-heap`: once confined, malloc 8 MiB in 1 KiB blocks and free them before the call,
/// so malloc grows and trims its arena under the filter (brk on the main thread, mmap,
/// mprotect and madvise in a thread's arena).
/// ARG is a number (decimal, negative, or 0x hex), `str:TEXT` (pointer to a C string),
/// `buf:N` (pointer to N zeroed bytes) or `timespec0` (pointer to a zero timespec).
/// Without ARGs every argument is -1: fds, pointers and sizes the kernel rejects after the
/// filter has had its say, so an allowed call fails harmlessly with EBADF/EFAULT/EINVAL.
struct ProbeRequest: Sendable {
    var role = Role.workerBase
    var mode = FilterMode.kill
    var abi = SyscallABI.native
    var siblingRoles: [Role] = []
    var loadPermissiveFilterFirst = false
    var growHeap = false
    var call = ""
    var arguments: [String] = []

    init(_ argv: [String]) throws(ProbeError) {
        var rest = argv[...]
        func value(_ flag: String) throws(ProbeError) -> String {
            guard let v = rest.popFirst() else { throw .usage("\(flag) needs a value") }
            return v
        }
        while let word = rest.popFirst() {
            switch word {
            case "--role":
                let name = try value(word)
                guard let r = Role(rawValue: name) else { throw .usage("unknown role \(name)") }
                role = r
            case "--mode":
                let name = try value(word)
                guard let m = FilterMode(rawValue: name) else { throw .usage("unknown mode \(name)") }
                mode = m
            case "--abi":
                let name = try value(word)
                guard let a = SyscallABI(rawValue: name) else { throw .usage("unknown abi \(name)") }
                abi = a
            case "--also-thread":
                let name = try value(word)
                guard let r = Role(rawValue: name), r.isThreadRole else { throw .usage("not a thread role: \(name)") }
                siblingRoles.append(r)
            case "--load-permissive": loadPermissiveFilterFirst = true
            case "--grow-heap": growHeap = true
            default:
                call = word
                arguments = Array(rest)
                rest = []
            }
        }
        guard !call.isEmpty else { throw .usage("no call given") }
        if !siblingRoles.isEmpty && !role.isThreadRole { throw .usage("--also-thread needs a thread role") }
    }
}

enum ProbeError: Error, CustomStringConvertible, Sendable {
    case usage(String)
    case unknownSyscall(String, SyscallABI)
    case badArgument(String)

    var description: String {
        switch self {
        case .usage(let m): "usage: \(m)"
        case .unknownSyscall(let n, let abi): "no syscall \(n) in the \(abi.rawValue) ABI"
        case .badArgument(let a): "bad argument \(a)"
        }
    }
}
