import Sandbox

/// A call no confined Bulkhead role should make, with arguments that would be harmless if a
/// filter let it through (bad paths, invalid fds, signal 0), so the "test of the tests" can
/// run them unfiltered. `str:`/`buf:` arguments become pointers inside the probe.
struct DangerousCall: CustomStringConvertible, Sendable {
    let name: String
    let arguments: [String]
    var description: String { ([name] + arguments).joined(separator: " ") }

    init(_ name: String, _ arguments: String...) { self.init(name, arguments) }

    init(_ name: String, _ arguments: [String]) {
        self.name = name
        self.arguments = arguments
    }

    /// The argument words as the filter compares them (pointers do not matter to any rule).
    var comparedWords: [UInt64] {
        (arguments + Array(repeating: "-1", count: 6 - arguments.count)).map { word in
            if let v = Int64(word) { return UInt64(bitPattern: v) }
            if word.hasPrefix("0x"), let v = UInt64(word.dropFirst(2), radix: 16) { return v }
            return 0x7fff_0000_0000
        }
    }

    static let catalog: [DangerousCall] = [
        DangerousCall("openat", "-100", "str:/etc/hostname", "0"),
        DangerousCall("open", "str:/etc/hostname", "0"),
        DangerousCall("creat", "str:/nonexistent-bulkhead/x", "0x180"),
        DangerousCall("openat2", "-100", "str:/etc/hostname", "buf:24", "24"),
        DangerousCall("socket", "1", "1", "0"),
        DangerousCall("socketpair", "1", "1", "0", "buf:8"),
        DangerousCall("connect", "-1", "0", "0"),
        DangerousCall("execve", "str:/nonexistent-bulkhead", "0", "0"),
        DangerousCall("execveat", "-100", "str:/nonexistent-bulkhead", "0", "0", "0"),
        DangerousCall("fork"),
        DangerousCall("vfork"),
        DangerousCall("clone", "17", "0", "0", "0", "0"),  // SIGCHLD only: a new process
        DangerousCall("ptrace", "2", "0x7fffffff", "0", "0"),  // PEEKDATA, no such pid
        DangerousCall("process_vm_writev", "0x7fffffff", "0", "0", "0", "0", "0"),
        DangerousCall("process_vm_readv", "0x7fffffff", "0", "0", "0", "0", "0"),
        DangerousCall("mount", "str:none", "str:/nonexistent-bulkhead", "str:tmpfs", "0", "0"),
        DangerousCall("umount2", "str:/nonexistent-bulkhead", "0"),
        DangerousCall("pivot_root", "str:/nonexistent-bulkhead", "str:/nonexistent-bulkhead"),
        DangerousCall("chroot", "str:/nonexistent-bulkhead"),
        DangerousCall("unshare", "0"),
        DangerousCall("setns", "-1", "0"),
        DangerousCall("init_module", "0", "0", "str:"),
        DangerousCall("finit_module", "-1", "str:", "0"),
        DangerousCall("delete_module", "str:bulkhead_nonexistent", "0"),
        DangerousCall("bpf", "-1", "0", "0"),
        DangerousCall("perf_event_open", "0", "0", "-1", "-1", "0"),
        DangerousCall("kexec_load", "0", "0", "0", "0xdead0000"),
        DangerousCall("kexec_file_load", "-1", "-1", "0", "0", "0"),
        DangerousCall("reboot", "0", "0", "0", "0"),  // bad magic
        DangerousCall("keyctl", "-1", "0", "0", "0", "0"),
        DangerousCall("add_key", "0", "0", "0", "0", "0"),
        DangerousCall("request_key", "0", "0", "0", "0"),
        DangerousCall("userfaultfd", "0"),
        DangerousCall("io_uring_setup", "0", "0"),
        DangerousCall("mmap", "0", "4096", "5", "0x22", "-1", "0"),  // PROT_READ|PROT_EXEC
        DangerousCall("mprotect", "0", "4096", "5"),  // PROT_READ|PROT_EXEC
        DangerousCall("memfd_create", "str:bulkhead", "0"),
        DangerousCall("setuid", "0"),
        DangerousCall("setgid", "0"),
        DangerousCall("capset", "0", "0"),
        DangerousCall("personality", "0xffffffff"),
        DangerousCall("kill", "1", "0"),  // signal 0 to init: a permission probe
        DangerousCall("name_to_handle_at", "-1", "0", "0", "0", "0"),
        DangerousCall("open_by_handle_at", "-1", "0", "0"),
        DangerousCall("swapon", "str:/nonexistent-bulkhead", "0"),
        DangerousCall("acct", "str:/nonexistent-bulkhead"),
        DangerousCall("iopl", "4"),
        DangerousCall("ioperm", "0x80", "1", "0"),
        DangerousCall("settimeofday", "0", "0"),
        DangerousCall("kcmp", "0x7fffffff", "0x7fffffff", "0", "0", "0"),
        DangerousCall("pidfd_getfd", "-1", "0", "0"),
        DangerousCall("fanotify_init", "0", "0"),
        DangerousCall("mknodat", "-100", "str:/nonexistent-bulkhead/x", "0", "0"),
        DangerousCall("prctl", "4", "1", "0", "0", "0"),  // PR_SET_DUMPABLE
    ]

    /// Calls the issue names, which every worker role must refuse.
    static let mustDieInEveryWorkerRole: Set<String> = [
        "openat", "open", "creat", "socket", "connect", "execve", "execveat", "fork", "vfork", "clone",
        "ptrace", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
        "init_module", "finit_module", "bpf", "perf_event_open", "kexec_load", "reboot", "keyctl",
        "add_key", "userfaultfd", "io_uring_setup", "mmap", "mprotect", "setuid", "capset", "personality",
    ]

    /// The roles every dangerous call is tried on.
    static let confinedRoles: [Role] = [.workerBase, .control, .vcpu, .io, .block, .net]

    /// The dangerous calls a role's filters refuse (every one the role does not need).
    static func refused(by role: Role) -> [DangerousCall] {
        catalog.filter { role.answer(for: $0.name, arguments: $0.comparedWords) == nil }
    }
}

/// One (role, call, ABI) kill case.
struct KillCase: CustomStringConvertible, Sendable {
    let role: Role
    let call: DangerousCall
    let abi: SyscallABI
    var description: String { "\(role.rawValue) \(abi.rawValue) \(call)" }

    static func all(abi: SyscallABI) -> [KillCase] {
        DangerousCall.confinedRoles.flatMap { role in
            DangerousCall.refused(by: role)
                .filter { Syscall(named: $0.name, abi: abi) != nil }
                .map { KillCase(role: role, call: $0, abi: abi) }
        }
    }
}
