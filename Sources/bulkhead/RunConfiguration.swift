import BulkheadProtocol
import Glibc
import RunSpecs
import Sandbox
import Vocabulary

/// A `bulkhead run` configuration after validation: every number in range, every path
/// absolute and present, every name well-formed, nothing declared twice. Building one is
/// the first step of a run (DESIGN.md §2 step 1); it touches nothing but stat(2) and
/// O_PATH walks (HostPath), which open no file for I/O.
struct RunConfiguration {
    enum Guest: Equatable {
        /// The built-in test guest with its steps.
        case testGuest(cmdline: String)
        /// A Linux kernel; its files reach the worker as block-helper fds, never as paths.
        case linux(kernel: String, initrd: String?, append: String?)
    }

    struct Disk: Equatable {
        let path: String
        let readOnly: Bool
    }

    struct NetDevice: Equatable {
        let tap: String
        let mac: String?
    }

    struct Hook: Equatable {
        let name: String
        let program: String
        var arguments: [String]
    }

    enum Console: Equatable {
        case stdout
        case none
        /// Opened (created or truncated) by the parent before it seals.
        case file(String)
    }

    /// The worker's limits (WorkerOptions), the test guest's (Guest/layout.h) and Linux's.
    static let memoryRange = VMLimits.memoryMiB
    static let cpuRange = VMLimits.cpus
    static let cmdlineMax = VMLimits.testGuestCommandLineMax
    static let appendMax = VMLimits.linuxAppendMax
    static let hookTimeoutRange = 1...600_000
    static let defaultCmdline = "banner poweroff"

    let memoryMiB: Int
    let cpus: Int
    let guest: Guest
    let disks: [Disk]
    let nets: [NetDevice]
    let hooks: [Hook]
    let hookTimeoutMs: Int?
    let console: Console
    let seccomp: FilterMode
    let escapeProbe: Bool
    /// CPUID feature names hidden from the guest (the worker's --hide-cpuid).
    let hiddenCPUID: [String]
    let policy: SecurityPolicy
    /// Where bulkhead-worker and the helpers are.
    let executableDirectory: String
    /// `--connect`: helper services to connect to instead of spawning (HelperConnections).
    let connect: [HelperKind: String]

    /// Each option family is checked by its own validator (RunConfigurationValidators), in
    /// this order, so the first bad item named is the same whichever families follow.
    init(_ options: RunOptions) throws {
        connect = try HelperConnections.parse(options.connect)
        memoryMiB = try NumberOption.parse(options.memory, "--memory", Self.memoryRange)
        cpus = try NumberOption.parse(options.cpus, "--cpus", Self.cpuRange)
        seccomp = try FilterMode(parsing: options.seccomp)
        var declared = DeclaredPaths()
        guest = try Self.guest(options, memoryMiB: memoryMiB, declaring: &declared)
        disks = try Self.disks(options.disks, declaring: &declared)
        nets = try Self.nets(options.nets)
        hooks = try Self.hooks(options.hooks, arguments: options.hookArguments)
        hookTimeoutMs = try Self.hookTimeout(options.hookTimeoutMs, hooks: hooks)
        console = try Self.console(options.console, declared: declared)
        hiddenCPUID = try Self.hiddenCPUID(options.hideCpuid)
        escapeProbe = try Self.escapeProbe(options.devices, disks: disks, nets: nets)
        policy = try Self.policy(options)
        executableDirectory = try Self.executableDirectory(options.helpers)
    }

    /// A file the block helper is declared: the kernel and initrd (read-only), then each disk.
    struct BlockFile: Equatable {
        let path: String
        let readWrite: Bool
        /// The option that declared it, as in messages: `--disk /path`.
        let flag: String
    }

    var blockFiles: [BlockFile] {
        var files: [BlockFile] = []
        if case .linux(let kernel, let initrd, _) = guest {
            files.append(BlockFile(path: kernel, readWrite: false, flag: "--kernel \(kernel)"))
            if let initrd { files.append(BlockFile(path: initrd, readWrite: false, flag: "--initrd \(initrd)")) }
        }
        for disk in disks { files.append(BlockFile(path: disk.path, readWrite: !disk.readOnly, flag: "--disk \(disk.path)")) }
        return files
    }

    /// The directory of the running `bulkhead` (/proc/self/exe), where the other executables live.
    static func ownDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "." }
        let path = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    }
}
