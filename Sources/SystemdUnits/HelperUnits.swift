import HostAccess
import Sandbox
import Vocabulary

/// The helpers that can run as their own socket-activated service, one capability per unit
/// (DESIGN.md §8). The worker and the parent always run per VM.
public enum ServiceHelper: String, CaseIterable, Sendable {
    case block, net, exec

    /// The executable beside `bulkhead`.
    public var program: String { "bulkhead-\(rawValue)" }
    public var role: Role {
        switch self {
        case .block: .block
        case .net: .net
        case .exec: .execService
        }
    }

    var capability: String {
        switch self {
        case .block: "declared disk, kernel and initrd files"
        case .net: "declared tap devices"
        case .exec: "declared hook programs"
        }
    }
}

/// Why `bulkhead units` refused a declaration; `description` names it.
public struct UnitProblem: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What the generated units declare: where things live and which files, taps and hooks each
/// service may hand out. The declarations go into the config file each unit names
/// (`--config`, Helpers/README.md); the helper checks them at start-up exactly as it checks
/// its command line. Block's files also become ReadOnlyPaths=/ReadWritePaths=.
public struct UnitOptions: Sendable {
    /// Unit and socket names start with it: `bulkhead-block.service`, `bulkhead-block.sock`.
    public var prefix = "bulkhead"
    /// Where the helper executables are installed (absolute; `bulkhead units` uses its own directory).
    public var helperDirectory: String
    public var configDirectory = "/etc/bulkhead"
    public var socketDirectory = "/run/bulkhead"
    /// nil: DynamicUser=yes; otherwise User= and Group= this existing account.
    public var user: String?
    /// `ro:/abs/path` or `rw:/abs/path`, as `bulkhead-block --file` takes them.
    public var files: [String] = []
    /// Tap names, as `bulkhead-net --tap`.
    public var taps: [String] = []
    /// `NAME=/abs/program` and `NAME=ARG`, as `bulkhead-exec --hook` / `--hook-arg`.
    public var hooks: [String] = []
    public var hookArguments: [String] = []

    public init(helperDirectory: String) { self.helperDirectory = helperDirectory }

    public func unitName(_ helper: ServiceHelper) -> String { "\(prefix)-\(helper.rawValue)" }
    public func socketPath(_ helper: ServiceHelper) -> String { "\(socketDirectory)/\(unitName(helper)).sock" }
    public func configPath(_ helper: ServiceHelper) -> String { "\(configDirectory)/\(unitName(helper)).conf" }
    public func executablePath(_ helper: ServiceHelper) -> String { "\(helperDirectory)/\(helper.program)" }
}

/// One generated file: a unit (`bulkhead-block.service`) or a helper config
/// (`bulkhead-block.conf`, to be installed in `UnitOptions.configDirectory`).
public struct GeneratedFile: Sendable, Equatable {
    public let name: String
    public let text: String
}

/// The `.socket`, `.service` and config file of every helper.
public struct HelperUnits: Sendable {
    public let options: UnitOptions

    public init(_ options: UnitOptions) throws(UnitProblem) {
        guard !options.prefix.isEmpty, options.prefix.utf8.count <= 64,
            options.prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw UnitProblem("--prefix \"\(options.prefix)\": expected 1…64 of A-Z a-z 0-9 - _") }
        for directory in [options.helperDirectory, options.configDirectory, options.socketDirectory] {
            _ = try UnitText.path(directory, what: "directory")
        }
        if let user = options.user {
            guard !user.isEmpty, user.utf8.count <= 32,
                user.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            else { throw UnitProblem("--user \"\(user)\": expected a plain user name") }
            // systemd warns that nobody is shared by everything that runs as nobody.
            guard user != "nobody", user != "root" else {
                throw UnitProblem("--user \(user): use a dedicated account (or none, for DynamicUser=yes)")
            }
        }
        for value in options.files + options.taps + options.hooks + options.hookArguments {
            guard !value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) else {
                throw UnitProblem("declaration \"\(value)\": a config line cannot hold a newline or NUL")
            }
        }
        for file in options.files {
            guard let (_, path) = BlockFile.parse(file) else {
                throw UnitProblem("--file \"\(file)\": expected ro:/absolute/path or rw:/absolute/path")
            }
            _ = try UnitText.path(path, what: "--file")
            for hidden in ["/home", "/root", "/run/user"] where path == hidden || path.hasPrefix(hidden + "/") {
                throw UnitProblem("--file \"\(file)\": \(hidden) is hidden from the service (ProtectHome=yes); keep images elsewhere, e.g. /var/lib/bulkhead")
            }
        }
        // Tap names, hook names and hook programs' paths as the helpers check them at
        // start-up, so a unit is not written with a declaration its service would refuse.
        for tap in options.taps {
            do throws(TapRefusal) { _ = try TapName(validating: tap) } catch { throw UnitProblem("--tap \"\(tap)\": \(error)") }
        }
        var hookNames: [String] = []
        for hook in options.hooks {
            guard let eq = hook.firstIndex(of: "="), Names.isValidHookName(String(hook[..<eq])) else {
                throw UnitProblem("--hook \"\(hook)\": expected NAME=/absolute/program, NAME 1…64 of A-Z a-z 0-9 _ . -")
            }
            let name = String(hook[..<eq])
            guard !hookNames.contains(name) else { throw UnitProblem("--hook \(name): declared twice") }
            _ = try UnitText.path(String(hook[hook.index(after: eq)...]), what: "--hook \(name)")
            hookNames.append(name)
        }
        for argument in options.hookArguments {
            guard let eq = argument.firstIndex(of: "="), hookNames.contains(String(argument[..<eq])) else {
                throw UnitProblem("--hook-arg \"\(argument)\": expected NAME=ARG for a hook declared with --hook")
            }
        }
        self.options = options
    }

    /// Every file, in a stable order: for each helper its .socket, .service and .conf.
    public var files: [GeneratedFile] {
        ServiceHelper.allCases.flatMap { helper in
            [
                GeneratedFile(name: options.unitName(helper) + ".socket", text: socketUnit(helper)),
                GeneratedFile(name: options.unitName(helper) + ".service", text: serviceUnit(helper)),
                GeneratedFile(name: options.unitName(helper) + ".conf", text: configFile(helper)),
            ]
        }
    }

    public func socketUnit(_ helper: ServiceHelper) -> String {
        """
        # Generated by `bulkhead units`: the listening socket of \(helper.program) (DESIGN.md §8).
        # Each VM's parent connects here (`bulkhead run --connect \(helper.rawValue)=\(options.socketPath(helper))`);
        # the service accepts one connection at a time, one VM session each.
        [Unit]
        Description=Bulkhead \(helper.rawValue) helper socket

        [Socket]
        ListenSequentialPacket=\(UnitText.escaped(options.socketPath(helper)))
        SocketUser=root
        SocketGroup=root
        SocketMode=0600
        DirectoryMode=0700
        Accept=no
        RemoveOnStop=yes

        [Install]
        WantedBy=sockets.target

        """
    }

    public func configFile(_ helper: ServiceHelper) -> String {
        var out = "# \(options.configPath(helper)): what \(helper.program) may hand out (\(helper.capability)).\n"
        out += "# One `KEY VALUE` per line, the value byte for byte to the end of the line (Helpers/README.md).\n"
        switch helper {
        case .block: out += options.files.map { "file \($0)\n" }.joined()
        case .net: out += options.taps.map { "tap \($0)\n" }.joined()
        case .exec:
            out += options.hooks.map { "hook \($0)\n" }.joined()
            out += options.hookArguments.map { "hook-arg \($0)\n" }.joined()
        }
        return out
    }

    public func serviceUnit(_ helper: ServiceHelper) -> String {
        let name = options.unitName(helper)
        var lines: [String] = [
            "# Generated by `bulkhead units`: \(helper.program) as its own service, one capability per unit",
            "# (DESIGN.md §8). Its syscall filter comes from the same `\(helper.role.rawValue)` profile the helper",
            "# loads itself (`bulkhead profiles \(helper.role.rawValue) --format systemd`)\(helper == .exec ? "; the exec server then narrows itself to `exec`, its hook launcher to `exec-hook`" : "").",
            "[Unit]",
            "Description=Bulkhead \(helper.rawValue) helper: \(helper.capability) for VMs",
            "Requires=\(name).socket",
            "After=\(name).socket",
            "",
            "[Service]",
            "Type=notify",
            "NotifyAccess=main",
            "ExecStart=\(UnitText.escaped(options.executablePath(helper))) --listen --config \(UnitText.escaped(options.configPath(helper)))",
            "Restart=on-failure",
        ]
        if let user = options.user {
            lines += ["User=\(user)", "Group=\(user)"]
        } else {
            lines += ["DynamicUser=yes"]
        }
        lines += ["UMask=0077", "NoNewPrivileges=yes"]
        switch helper {
        case .net:
            lines += [
                "# TUNSETIFF on an existing tap needs CAP_NET_ADMIN in the host's network namespace:",
                "# the one capability of this unit, hence no PrivateNetwork= and no PrivateUsers=.",
                "CapabilityBoundingSet=CAP_NET_ADMIN",
                "AmbientCapabilities=CAP_NET_ADMIN",
            ]
        default:
            lines += ["CapabilityBoundingSet=", "AmbientCapabilities=", "PrivateUsers=yes"]
        }
        lines += [
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "PrivateIPC=yes",
            "PrivateMounts=yes",
            "ProtectProc=invisible",
            "ProcSubset=pid",
            "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes",
            "ProtectControlGroups=yes",
            "ProtectClock=yes",
            "ProtectHostname=yes",
            "KeyringMode=private",
            "RemoveIPC=yes",
            "RestrictAddressFamilies=AF_UNIX",
            "RestrictNamespaces=yes",
            "RestrictRealtime=yes",
            "RestrictSUIDSGID=yes",
            "LockPersonality=yes",
            "IPAddressDeny=any",
        ]
        switch helper {
        case .net:
            lines += [
                "# Only /dev/net/tun: a private /dev holds the pseudo devices, the tun node is bound in.",
                "# This user opens it per request: its mode must allow that (0666, or a udev rule).",
                "PrivateDevices=yes",
                "BindPaths=/dev/net/tun",
                "DeviceAllow=/dev/net/tun rw",
            ]
        default:
            lines += ["PrivateDevices=yes", "PrivateNetwork=yes"]
        }
        if helper == .exec {
            lines += [
                "# No MemoryDenyWriteExecute=: hooks are arbitrary declared programs and may need",
                "# writable-then-executable mappings (JITs, some interpreters); the launcher's",
                "# exec-hook seccomp filter, which hooks inherit, is what bounds them.",
            ]
        } else {
            lines += ["MemoryDenyWriteExecute=yes"]
        }
        if helper == .block {
            let declared = options.files.compactMap(BlockFile.parse)
            let readOnly = declared.filter { $0.access == "ro" }.map { UnitText.escaped($0.path) }
            let readWrite = declared.filter { $0.access == "rw" }.map { UnitText.escaped($0.path) }
            if !readOnly.isEmpty { lines.append("ReadOnlyPaths=\(readOnly.joined(separator: " "))") }
            if !readWrite.isEmpty {
                lines.append("# ProtectSystem=strict leaves everything read-only but the read-write declarations.")
                lines.append("ReadWritePaths=\(readWrite.joined(separator: " "))")
            }
        }
        lines += StartupCalls.unitLines(for: helper)
        lines += ProfileDocument(role: helper.role).rendered(as: .systemd).split(separator: "\n").map(String.init)
        lines += ["", "[Install]", "Also=\(name).socket", ""]
        return lines.joined(separator: "\n")
    }
}

/// `ro:/path` / `rw:/path`, split.
enum BlockFile {
    static func parse(_ value: String) -> (access: String, path: String)? {
        guard let colon = value.firstIndex(of: ":") else { return nil }
        let access = String(value[..<colon])
        guard access == "ro" || access == "rw" else { return nil }
        return (access, String(value[value.index(after: colon)...]))
    }
}

/// Text that goes into a unit file.
enum UnitText {
    /// An absolute path usable on a unit line: no whitespace, quotes, backslashes or control
    /// characters (systemd would split or unescape them), no `..` or `.` components.
    static func path(_ path: String, what: String) throws(UnitProblem) -> String {
        guard path.hasPrefix("/") else { throw UnitProblem("\(what) \"\(path)\": expected an absolute path") }
        guard !path.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F || "\"'\\;".unicodeScalars.contains($0) })
        else { throw UnitProblem("\(what) \"\(path)\": whitespace, quotes, ; and \\ cannot go on a unit line") }
        guard !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
            throw UnitProblem("\(what) \"\(path)\": expected a canonical path")
        }
        return path
    }

    /// `%` starts a specifier in unit files.
    static func escaped(_ path: String) -> String {
        path.replacingPercent()
    }
}

extension String {
    fileprivate func replacingPercent() -> String {
        var out = ""
        for character in self { out += character == "%" ? "%%" : String(character) }
        return out
    }
}
