import BulkheadProtocol
import Glibc
import HostAccess
import KVM
import RunSpecs
import Sandbox
import Vocabulary

/// Every host path the VM declares (kernel, initrd, disks), once; the console may not be one.
struct DeclaredPaths {
    private var paths = Set<String>()

    mutating func declare(_ path: String, _ flag: String) throws {
        guard paths.insert(path).inserted else { throw ConfigurationError("\(flag) \(path)", "declared twice") }
    }

    func contains(_ path: String) -> Bool { paths.contains(path) }
}

/// One validator per option family of `bulkhead run`: each takes the options as typed and
/// returns the checked values, or throws the ConfigurationError that names the bad item.
/// Adding an option means adding (or extending) one of these and one line in `init`.
extension RunConfiguration {
    /// `--kernel`, `--initrd`, `--append` for Linux, else `--cmdline` for the test guest.
    static func guest(_ options: RunOptions, memoryMiB: Int, declaring declared: inout DeclaredPaths) throws -> Guest {
        guard let kernel = options.kernel else {
            if options.initrd != nil { throw ConfigurationError("--initrd", "needs --kernel") }
            if options.append != nil { throw ConfigurationError("--append", "needs --kernel") }
            let cmdline = options.cmdline ?? Self.defaultCmdline
            guard cmdline.utf8.count <= Self.cmdlineMax, !cmdline.utf8.contains(0) else {
                throw ConfigurationError("--cmdline", "is \(cmdline.utf8.count) bytes; at most \(Self.cmdlineMax), no NUL")
            }
            return .testGuest(cmdline: cmdline)
        }
        guard try HostPath.existingFile(kernel, "--kernel").size > 0 else {
            throw ConfigurationError("--kernel \(kernel)", "is empty, not a kernel")
        }
        try declared.declare(kernel, "--kernel")
        if let initrd = options.initrd {
            guard try HostPath.existingFile(initrd, "--initrd").size > 0 else {
                throw ConfigurationError("--initrd \(initrd)", "is empty")
            }
            try declared.declare(initrd, "--initrd")
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
        return .linux(kernel: kernel, initrd: options.initrd, append: options.append)
    }

    static func disks(_ texts: [String], declaring declared: inout DeclaredPaths) throws -> [Disk] {
        var disks: [Disk] = []
        for text in texts {
            let disk = try DiskSpec(parsing: text)
            try HostPath.existingFile(disk.path, "--disk", allowBlockDevice: true, writable: !disk.readOnly)
            try declared.declare(disk.path, "--disk")
            disks.append(Disk(path: disk.path, readOnly: disk.readOnly))
        }
        return disks
    }

    static func nets(_ texts: [String]) throws -> [NetDevice] {
        var nets: [NetDevice] = []
        for text in texts {
            let net = try NetSpec(parsing: text)
            let (tap, mac) = (net.tap, net.mac)
            guard !nets.contains(where: { $0.tap == tap }) else { throw ConfigurationError("--net tap=\(tap)", "declared twice") }
            if let mac, nets.contains(where: { $0.mac?.lowercased() == mac.lowercased() }) {
                throw ConfigurationError("--net mac=\(mac)", "used by two devices")
            }
            nets.append(NetDevice(tap: tap, mac: mac))
        }
        return nets
    }

    /// `--hook NAME=PROGRAM`, then each `--hook-arg NAME=ARG` in order.
    static func hooks(_ texts: [String], arguments: [String]) throws -> [Hook] {
        var hooks: [Hook] = []
        for text in texts {
            let spec = try HookSpec(parsing: text)
            let (name, program) = (spec.name, spec.program)
            guard !hooks.contains(where: { $0.name == name }) else { throw ConfigurationError("--hook \(name)", "declared twice") }
            let info = try HostPath.existingFile(program, "--hook \(name)")
            guard access(program, X_OK) == 0 else { throw ConfigurationError("--hook \(name)=\(program)", "not executable") }
            // The exec helper refuses it too (DeclaredHooks), but only once it has started.
            guard info.mode & 0o022 == 0 else {
                throw ConfigurationError("--hook \(name)=\(program)", "is group- or world-writable; anyone could change what runs")
            }
            hooks.append(Hook(name: name, program: program, arguments: []))
        }
        for text in arguments {
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
        return hooks
    }

    static func hookTimeout(_ text: String?, hooks: [Hook]) throws -> Int? {
        guard let text else { return nil }
        guard !hooks.isEmpty else { throw ConfigurationError("--hook-timeout-ms", "no hook is declared") }
        return try NumberOption.parse(text, "--hook-timeout-ms", Self.hookTimeoutRange)
    }

    /// `--console stdout|none|FILE`. The parent opens (creates, truncates) a file as root and
    /// the guest writes to it: like a rw disk, it must be plain storage reached without links
    /// (/proc/sys/kernel/core_pattern is a regular file too). ConsoleFile opens it again
    /// without following a link, in case one was swapped in since.
    static func console(_ text: String, declared: DeclaredPaths) throws -> Console {
        switch text {
        case "stdout": return .stdout
        case "none": return .none
        case let path:
            let item = "--console \(path)"
            guard path.hasPrefix("/") else { throw ConfigurationError(item, "expected stdout, none or an absolute path") }
            guard !path.utf8.contains(0), path.utf8.count < PATH_MAX else { throw ConfigurationError(item, "not a valid path") }
            let parent = String(path[..<path.lastIndex(of: "/")!])
            let directory = parent.isEmpty ? "/" : parent
            var info = stat()
            guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw ConfigurationError(item, "its directory does not exist")
            }
            let exists = lstat(path, &info) == 0
            if exists {
                guard try HostPath.linkFree(path, item).identity.type == .regularFile else {
                    throw ConfigurationError(item, "exists and is not a regular file")
                }
            } else if directory != "/" {
                try HostPath.linkFree(directory, item)
            }
            if let fileSystem = KernelFileSystem.name(of: directory) {
                throw ConfigurationError(item, "is on \(fileSystem), a kernel interface, not storage")
            }
            guard access(exists ? path : directory, W_OK) == 0 else {
                throw ConfigurationError(item, "cannot be written (\(String(cString: strerror(errno))))")
            }
            guard !declared.contains(path) else { throw ConfigurationError(item, "is also declared as a guest file") }
            return .file(path)
        }
    }

    static func hiddenCPUID(_ text: String?) throws -> [String] {
        guard let text else { return [] }
        var hidden: [String] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard CPUIDFeature(named: name) != nil else {
                throw ConfigurationError(
                    "--hide-cpuid \(name)", "unknown feature; known: \(CPUIDFeature.known.map(\.name).joined(separator: ", "))")
            }
            if !hidden.contains(name) { hidden.append(name) }
        }
        return hidden
    }

    /// `--device NAME` (only escape-probe exists), which excludes the virtio devices: the
    /// worker's io thread serves either the probe's @io requests or the virtio queues.
    static func escapeProbe(_ devices: [String], disks: [Disk], nets: [NetDevice]) throws -> Bool {
        var escapeProbe = false
        for device in devices {
            guard let entry = DeviceCatalog.optionalDevices.first(where: { $0.name == device }) else {
                throw ConfigurationError(
                    "--device \(device)", "unknown; optional devices are \(DeviceCatalog.optionalDevices.map(\.name).joined(separator: ", "))")
            }
            guard !escapeProbe else { throw ConfigurationError("--device \(entry.name)", "given twice") }
            escapeProbe = true
        }
        if escapeProbe, let item = disks.first.map({ "--disk \($0.path)" }) ?? nets.first.map({ "--net tap=\($0.tap)" }) {
            throw ConfigurationError(item, "--device escape-probe excludes virtio devices")
        }
        return escapeProbe
    }

    /// `--allow-insecure`, `--prohibit-insecure`, `--require-secure`, `--deny-feature GROUP`.
    static func policy(_ options: RunOptions) throws -> SecurityPolicy {
        var denied: [FeatureGroup] = []
        for name in options.deniedFeatures {
            guard let group = FeatureGroup(rawValue: name) else {
                throw ConfigurationError(
                    "--deny-feature \(name)", "unknown feature group; groups are \(FeatureGroup.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !denied.contains(group) { denied.append(group) }
        }
        return SecurityPolicy(
            allowInsecure: options.allowInsecure, prohibitInsecure: options.prohibitInsecure, requireSecure: options.requireSecure,
            deniedGroups: denied)
    }

    /// `--helpers DIR`, else the directory of the running `bulkhead`.
    static func executableDirectory(_ directory: String?) throws -> String {
        guard let directory else { return Self.ownDirectory() }
        var info = stat()
        guard directory.hasPrefix("/"), stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw ConfigurationError("--helpers \(directory)", "not an absolute path to a directory")
        }
        return directory
    }
}
