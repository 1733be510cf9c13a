import BulkheadProtocol
import Glibc
import HostAccess
import KVM
import RunSpecs
import Sandbox

/// A `bulkhead run` configuration after validation: every number in range, every path
/// absolute and present, every name well-formed, nothing declared twice. Building one is
/// the first step of a run (DESIGN.md §2 step 1); it touches nothing but stat(2).
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
    static let memoryRange = 4...3072
    static let cpuRange = 1...32
    static let cmdlineMax = 3840
    static let appendMax = 2047
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

    init(_ options: RunOptions) throws {
        connect = try HelperConnections.parse(options.connect)
        memoryMiB = try NumberOption.parse(options.memory, "--memory", Self.memoryRange)
        cpus = try NumberOption.parse(options.cpus, "--cpus", Self.cpuRange)
        guard let mode = FilterMode(rawValue: options.seccomp) else {
            throw ConfigurationError("--seccomp \(options.seccomp)", "expected kill, trap, log or none")
        }
        seccomp = mode

        var seen = Set<String>()  // every host path the VM declares, once
        func declare(_ path: String, _ flag: String) throws {
            guard seen.insert(path).inserted else { throw ConfigurationError("\(flag) \(path)", "declared twice") }
        }
        if let kernel = options.kernel {
            guard try Self.existingFile(kernel, "--kernel").st_size > 0 else {
                throw ConfigurationError("--kernel \(kernel)", "is empty, not a kernel")
            }
            try declare(kernel, "--kernel")
            if let initrd = options.initrd {
                guard try Self.existingFile(initrd, "--initrd").st_size > 0 else {
                    throw ConfigurationError("--initrd \(initrd)", "is empty")
                }
                try declare(initrd, "--initrd")
            }
            guard memoryMiB >= LinuxBoot.minimumMemoryMiB else {
                throw ConfigurationError("--memory \(memoryMiB)", "a Linux guest needs at least \(LinuxBoot.minimumMemoryMiB) MiB")
            }
            if options.cmdline != nil {
                throw ConfigurationError("--cmdline", "is for the test guest; a Linux kernel takes --append")
            }
            if let append = options.append {
                guard append.utf8.count <= Self.appendMax, !append.utf8.contains(0) else {
                    throw ConfigurationError("--append", "at most \(Self.appendMax) bytes, no NUL")
                }
            }
            guest = .linux(kernel: kernel, initrd: options.initrd, append: options.append)
        } else {
            if options.initrd != nil { throw ConfigurationError("--initrd", "needs --kernel") }
            if options.append != nil { throw ConfigurationError("--append", "needs --kernel") }
            let cmdline = options.cmdline ?? Self.defaultCmdline
            guard cmdline.utf8.count <= Self.cmdlineMax, !cmdline.utf8.contains(0) else {
                throw ConfigurationError("--cmdline", "is \(cmdline.utf8.count) bytes; at most \(Self.cmdlineMax), no NUL")
            }
            guest = .testGuest(cmdline: cmdline)
        }

        var disks: [Disk] = []
        for text in options.disks {
            let disk = try DiskSpec(parsing: text)
            try Self.existingFile(disk.path, "--disk", allowBlockDevice: true, writable: !disk.readOnly)
            try declare(disk.path, "--disk")
            disks.append(Disk(path: disk.path, readOnly: disk.readOnly))
        }
        self.disks = disks

        var nets: [NetDevice] = []
        for text in options.nets {
            let net = try NetSpec(parsing: text)
            let (tap, mac) = (net.tap, net.mac)
            guard !nets.contains(where: { $0.tap == tap }) else { throw ConfigurationError("--net tap=\(tap)", "declared twice") }
            if let mac, nets.contains(where: { $0.mac?.lowercased() == mac.lowercased() }) {
                throw ConfigurationError("--net mac=\(mac)", "used by two devices")
            }
            nets.append(NetDevice(tap: tap, mac: mac))
        }
        self.nets = nets

        var hooks: [Hook] = []
        for text in options.hooks {
            let spec = try HookSpec(parsing: text)
            let (name, program) = (spec.name, spec.program)
            guard !hooks.contains(where: { $0.name == name }) else { throw ConfigurationError("--hook \(name)", "declared twice") }
            let info = try Self.existingFile(program, "--hook \(name)")
            guard access(program, X_OK) == 0 else { throw ConfigurationError("--hook \(name)=\(program)", "not executable") }
            // The exec helper refuses it too (DeclaredHooks), but only once it has started.
            guard info.st_mode & 0o022 == 0 else {
                throw ConfigurationError("--hook \(name)=\(program)", "is group- or world-writable; anyone could change what runs")
            }
            hooks.append(Hook(name: name, program: program, arguments: []))
        }
        for text in options.hookArguments {
            let spec = try HookArgumentSpec(parsing: text)
            let (name, argument) = (spec.name, spec.argument)
            guard let index = hooks.firstIndex(where: { $0.name == name }) else {
                throw ConfigurationError("--hook-arg \(text)", "no hook named \(name) is declared (--hook \(name)=PROGRAM)")
            }
            guard !argument.utf8.contains(0), argument.utf8.count <= HookArguments.maximumFixedLength else {
                throw ConfigurationError("--hook-arg \(name)", "at most \(HookArguments.maximumFixedLength) bytes, no NUL")
            }
            guard hooks[index].arguments.count < HookArguments.maximumFixedCount else {
                throw ConfigurationError("--hook-arg \(name)", "at most \(HookArguments.maximumFixedCount) arguments per hook")
            }
            hooks[index].arguments.append(argument)
        }
        self.hooks = hooks
        if let timeout = options.hookTimeoutMs {
            guard !hooks.isEmpty else { throw ConfigurationError("--hook-timeout-ms", "no hook is declared") }
            hookTimeoutMs = try NumberOption.parse(timeout, "--hook-timeout-ms", Self.hookTimeoutRange)
        } else {
            hookTimeoutMs = nil
        }

        switch options.console {
        case "stdout": console = .stdout
        case "none": console = .none
        case let path:
            // The parent opens (creates, truncates) it as root and the guest writes to it: like
            // a rw disk, it must be plain storage reached without links (/proc/sys/kernel/
            // core_pattern is a regular file too).
            let item = "--console \(path)"
            guard path.hasPrefix("/") else { throw ConfigurationError(item, "expected stdout, none or an absolute path") }
            guard !path.utf8.contains(0), path.utf8.count < PATH_MAX else { throw ConfigurationError(item, "not a valid path") }
            let directory = String(path[..<path.lastIndex(of: "/")!])
            var info = stat()
            guard stat(directory.isEmpty ? "/" : directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw ConfigurationError(item, "its directory does not exist")
            }
            let exists = lstat(path, &info) == 0
            info = try Self.linkFree(exists ? path : directory, item)
            if exists && info.st_mode & S_IFMT != S_IFREG { throw ConfigurationError(item, "exists and is not a regular file") }
            if let fileSystem = KernelFileSystem.name(of: directory.isEmpty ? "/" : directory) {
                throw ConfigurationError(item, "is on \(fileSystem), a kernel interface, not storage")
            }
            guard access(exists ? path : (directory.isEmpty ? "/" : directory), W_OK) == 0 else {
                throw ConfigurationError(item, "cannot be written (\(String(cString: strerror(errno))))")
            }
            guard !seen.contains(path) else { throw ConfigurationError(item, "is also declared as a guest file") }
            console = .file(path)
        }

        var hidden: [String] = []
        for name in (options.hideCpuid ?? "").split(separator: ",", omittingEmptySubsequences: false) where options.hideCpuid != nil {
            guard CPUIDFeature(named: String(name)) != nil else {
                throw ConfigurationError(
                    "--hide-cpuid \(name)", "unknown feature; known: \(CPUIDFeature.known.map(\.name).joined(separator: ", "))")
            }
            if !hidden.contains(String(name)) { hidden.append(String(name)) }
        }
        hiddenCPUID = hidden

        var escapeProbe = false
        for device in options.devices {
            guard let entry = DeviceCatalog.optionalDevices.first(where: { $0.name == device }) else {
                throw ConfigurationError(
                    "--device \(device)", "unknown; optional devices are \(DeviceCatalog.optionalDevices.map(\.name).joined(separator: ", "))")
            }
            guard !escapeProbe else { throw ConfigurationError("--device \(entry.name)", "given twice") }
            escapeProbe = true
        }
        self.escapeProbe = escapeProbe
        // The worker's io thread serves either the probe's @io requests or the virtio queues.
        if escapeProbe, let item = disks.first.map({ "--disk \($0.path)" }) ?? nets.first.map({ "--net tap=\($0.tap)" }) {
            throw ConfigurationError(item, "--device escape-probe excludes virtio devices")
        }

        var denied: [FeatureGroup] = []
        for name in options.deniedFeatures {
            guard let group = FeatureGroup(rawValue: name) else {
                throw ConfigurationError(
                    "--deny-feature \(name)", "unknown feature group; groups are \(FeatureGroup.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !denied.contains(group) { denied.append(group) }
        }
        policy = SecurityPolicy(
            allowInsecure: options.allowInsecure, prohibitInsecure: options.prohibitInsecure, requireSecure: options.requireSecure, deniedGroups: denied)

        if let directory = options.helpers {
            var info = stat()
            guard directory.hasPrefix("/"), stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw ConfigurationError("--helpers \(directory)", "not an absolute path to a directory")
            }
            executableDirectory = directory
        } else {
            executableDirectory = Self.ownDirectory()
        }
    }

    /// An absolute path to an existing regular file (or block device, for disks) on storage,
    /// readable (and writable, for a rw disk) by this process; its stat.
    @discardableResult
    private static func existingFile(_ path: String, _ flag: String, allowBlockDevice: Bool = false, writable: Bool = false) throws
        -> stat
    {
        guard path.hasPrefix("/") else { throw ConfigurationError("\(flag) \(path)", "not an absolute path") }
        guard !path.utf8.contains(0), path.utf8.count < PATH_MAX else { throw ConfigurationError("\(flag) \(path)", "not a valid path") }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ConfigurationError("\(flag) \(path)", "does not exist or cannot be reached (\(String(cString: strerror(errno))))")
        }
        // The helpers never follow a symbolic link (nor `..`); say so now, not at start-up.
        info = try linkFree(path, "\(flag) \(path)")
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || (allowBlockDevice && type == S_IFBLK) else {
            throw ConfigurationError("\(flag) \(path)", allowBlockDevice ? "not a regular file or block device" : "not a regular file")
        }
        if let fileSystem = KernelFileSystem.name(of: path) {
            throw ConfigurationError("\(flag) \(path)", "is on \(fileSystem), a kernel interface, not storage")
        }
        if writable, type == S_IFBLK, let use = HostBlockDevice.use(of: info.st_rdev) {
            throw ConfigurationError("\(flag) \(path)", "\(use) on the host; declare it readonly or use another device")
        }
        // access(2) as well as stat: an immutable file or a read-only mount refuses writing
        // even to root, and the helper would only find out at start-up.
        guard access(path, writable ? R_OK | W_OK : R_OK) == 0 else {
            throw ConfigurationError(
                "\(flag) \(path)", "cannot be \(writable ? "read and written" : "read") (\(String(cString: strerror(errno))))")
        }
        return info
    }

    /// The lstat of the existing `path` once each component is checked: no `.` or `..`, no
    /// symbolic link (which could lead into /proc, or anywhere the declaration did not say).
    private static func linkFree(_ path: String, _ item: String) throws -> stat {
        var info = stat()
        guard lstat("/", &info) == 0 else { throw ConfigurationError(item, "cannot stat /") }
        var prefix = ""
        for component in path.split(separator: "/") {
            guard component != "..", component != "." else {
                throw ConfigurationError(item, "has a . or .. component; declare the canonical path")
            }
            prefix += "/" + component
            guard lstat(prefix, &info) == 0, info.st_mode & S_IFMT != S_IFLNK else {
                throw ConfigurationError(item, "\(prefix) is a symbolic link; declare the real path")
            }
        }
        return info
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
