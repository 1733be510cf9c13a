import BulkheadProtocol
import Cgroup
import Glibc
import JSONText
import RunSpecs
import Sandbox
import SystemPackage
import Vocabulary

/// What a run starts, in order: the helpers that have something to serve, then the worker.
/// Each with its executable, the profile it confines itself with, the resources it is
/// declared and its exact argv. `bulkhead check` prints this; `bulkhead run` executes it.
struct LaunchPlan {
    struct Helper {
        let kind: HelperKind
        /// The option that makes this helper necessary (for messages and the policy).
        let neededBy: String
        /// The helper's own declarations (after the common `--socket-fd 3 --seccomp MODE`).
        let declarations: [String]
        let resources: [String]
        /// `--connect`: the service's socket; nil: spawned by the parent.
        var connectTo: String?
        var executableName: String { "bulkhead-\(kind.rawValue)" }
        var profile: String { Role(rawValue: kind.rawValue)?.rawValue ?? kind.rawValue }
    }

    /// The worker's fd map: child fd → what the parent puts there.
    enum WorkerFD {
        static let kvm: Int32 = 3
        static let report: Int32 = 4
        static let status: Int32 = 5
        static let console: Int32 = 6
        static let blockSocket: Int32 = 7
        static let netSocket: Int32 = 8
        /// The read end of the console input pipe (ConsoleInput), when stdin gives input or
        /// the VM serves a control socket (`bulkhead console` feeds the same pipe).
        static let consoleInput: Int32 = 9
        /// The write end of the console tee (ConsoleTee), when the VM serves a control socket.
        static let consoleTee: Int32 = 10
    }

    let configuration: RunConfiguration
    let helpers: [Helper]
    let workerExecutable: String
    let workerArguments: [String]
    let workerResources: [String]
    /// Each spawned executable, opened and (as root) checked by TrustedExecutable: the file
    /// that runs, by its path. The parent keeps them (O_PATH, close-on-exec) until it spawns.
    let programs: [String: FileDescriptor]
    /// What the guest's UART reads: the run's stdin as ConsoleInput relays it; `.attached`
    /// when only `bulkhead console` gives input; nil without input.
    let consoleInput: ConsoleInput.Source?
    /// A control socket is served (`--name`): `bulkhead console` may attach, so the worker
    /// gets a console input pipe in any case and the console tee (ConsoleTee).
    let attachable: Bool
    /// BULKHEAD_RUN_AS per child name, set by `bulkhead run` as root (RunDefense).
    var identities: [String: String] = [:]
    /// The VM's name (`--name`, default vm-PID): BULKHEAD_VM in each child's environment and
    /// in the journal entries of the parent and the helpers.
    var vmName = "vm-\(getpid())"
    /// `--memory-limit`, `--pids-limit` for the VM's cgroup (CgroupSetup).
    var cgroupLimits = CgroupLimits()

    func executable(of helper: Helper) -> String { configuration.executableDirectory + "/" + helper.executableName }
    /// The opened program of a spawned executable (every one is in `programs`, from init).
    func program(_ executable: String) -> FileDescriptor { programs[executable]! }


    init(_ configuration: RunConfiguration, attachable: Bool = false) throws {
        self.configuration = configuration
        self.attachable = attachable
        helpers = Self.helpers(for: configuration).map { helper in
            var helper = helper
            helper.connectTo = configuration.connect[helper.kind]
            return helper
        }
        workerExecutable = configuration.executableDirectory + "/bulkhead-worker"
        var programs: [String: FileDescriptor] = [:]
        for path in [workerExecutable] + helpers.filter({ $0.connectTo == nil }).map({ configuration.executableDirectory + "/" + $0.executableName }) {
            guard access(path, X_OK) == 0 else {
                throw ConfigurationError(path, "not found or not executable (--helpers DIR names where the executables are)")
            }
            programs[path] = try TrustedExecutable.open(path)
        }
        self.programs = programs

        var arguments = ["--kvm-fd", "\(WorkerFD.kvm)", "--report-fd", "\(WorkerFD.report)", "--status-fd", "\(WorkerFD.status)"]
        var resources = ["/dev/kvm (opened by the parent)", "status socket", "report pipe"]
        switch configuration.console {
        case .stdout:
            arguments += ["--console-fd", "1"]
            resources.append("console stdout")
        case .none:
            arguments += ["--console-fd", "none"]
        case .file(let path):
            arguments += ["--console-fd", "\(WorkerFD.console)"]
            resources.append("console \(path) (opened by the parent)")
        }
        consoleInput = ConsoleInput.Source.standardInput() ?? (attachable ? .attached : nil)
        switch consoleInput {
        case .terminal?:
            arguments += ["--console-input-fd", "\(WorkerFD.consoleInput)"]
            resources.append("console input from the terminal (raw mode; Ctrl-] q quits; a pipe from the parent)")
        case .stream?:
            arguments += ["--console-input-fd", "\(WorkerFD.consoleInput)"]
            resources.append("console input from stdin (a pipe from the parent)")
        case .attached?:
            arguments += ["--console-input-fd", "\(WorkerFD.consoleInput)"]
            resources.append("console input from `bulkhead console` (a pipe from the parent)")
        case nil: break
        }
        if attachable {
            arguments += ["--console-tee-fd", "\(WorkerFD.consoleTee)"]
            resources.append("console output copied for `bulkhead console` (a non-blocking pipe to the parent)")
        }
        arguments += [
            "--memory", "\(configuration.memoryMiB)", "--cpus", "\(configuration.cpus)", "--seccomp", configuration.seccomp.rawValue,
        ]
        resources += ["memory \(configuration.memoryMiB) MiB", "vcpus \(configuration.cpus)"]
        if configuration.escapeProbe {
            arguments += ["--device", "escape-probe"]
            resources.append("device escape-probe")
        }
        switch configuration.guest {
        case .testGuest(let cmdline):
            arguments += ["--cmdline", cmdline]
            resources.append("guest built-in test guest: \(cmdline)")
        case .linux(let kernel, let initrd, let append):
            arguments += ["--kernel", kernel]
            resources.append("kernel \(kernel) (from the block helper)")
            if let initrd {
                arguments += ["--initrd", initrd]
                resources.append("initrd \(initrd) (from the block helper)")
            }
            if let append { arguments += ["--append", append] }
        }
        if !configuration.hiddenCPUID.isEmpty {
            arguments += ["--hide-cpuid", configuration.hiddenCPUID.joined(separator: ",")]
            resources.append("cpuid hides \(configuration.hiddenCPUID.joined(separator: ", "))")
        }
        for disk in configuration.disks {
            arguments += ["--disk", disk.readOnly ? "\(disk.path),readonly" : disk.path]
            resources.append("virtio-blk \(disk.path) \(disk.readOnly ? "ro" : "rw") (from the block helper)")
        }
        for net in configuration.nets {
            arguments += ["--tap", net.mac.map { "\(net.tap),mac=\($0)" } ?? net.tap]
            resources.append("virtio-net tap \(net.tap)\(net.mac.map { " mac \($0)" } ?? "") (from the net helper)")
        }
        // The worker asks the helpers for the kernel, initrd, disks and taps itself.
        if helpers.contains(where: { $0.kind == .block }) {
            arguments += ["--block-socket-fd", "\(WorkerFD.blockSocket)"]
            resources.append("block helper socket")
        }
        if helpers.contains(where: { $0.kind == .net }) {
            arguments += ["--net-socket-fd", "\(WorkerFD.netSocket)"]
            resources.append("net helper socket")
        }
        workerArguments = arguments
        workerResources = resources
    }

    /// The helpers `configuration` needs, in start order. A helper with nothing to serve is
    /// not started: no files, no block helper; no taps, no net helper; no hooks, no exec helper.
    static func helpers(for configuration: RunConfiguration) -> [Helper] {
        var helpers: [Helper] = []
        let files = configuration.blockFiles
        if let first = files.first {
            helpers.append(
                Helper(
                    kind: .block, neededBy: first.flag,
                    declarations: files.flatMap { ["--file", "\($0.readWrite ? "rw" : "ro"):\($0.path)"] },
                    resources: files.map { "file \($0.readWrite ? "rw" : "ro") \($0.path)" }))
        }
        if let first = configuration.nets.first {
            helpers.append(
                Helper(
                    kind: .net, neededBy: "--net tap=\(first.tap)",
                    declarations: configuration.nets.flatMap { ["--tap", $0.tap] },
                    resources: ["/dev/net/tun"] + configuration.nets.map { "tap \($0.tap)" }))
        }
        if let first = configuration.hooks.first {
            var declarations: [String] = []
            for hook in configuration.hooks {
                declarations += ["--hook", "\(hook.name)=\(hook.program)"]
                for argument in hook.arguments { declarations += ["--hook-arg", "\(hook.name)=\(argument)"] }
            }
            if let timeout = configuration.hookTimeoutMs { declarations += ["--hook-timeout-ms", "\(timeout)"] }
            helpers.append(
                Helper(
                    kind: .exec, neededBy: "--hook \(first.name)", declarations: declarations,
                    resources: configuration.hooks.map { (["hook \($0.name) \($0.program)"] + $0.arguments).joined(separator: " ") }))
        }
        return helpers
    }

    func helperArguments(_ helper: Helper) -> [String] {
        ["--socket-fd", "3", "--seccomp", configuration.seccomp.rawValue] + helper.declarations
    }

    static let workerProfile = "worker-base + control, vcpuN, io"

    /// `bulkhead check`'s output.
    func rendered(json: Bool) -> String {
        var processes: [(name: String, executable: String, profile: String, resources: [String])] = helpers.map {
            ($0.kind.rawValue, $0.connectTo.map { "service at \($0)" } ?? executable(of: $0), $0.profile, $0.resources)
        }
        processes.append(("worker", workerExecutable, Self.workerProfile, workerResources))
        if json {
            let list: [JSONValue] = processes.map { process in
                .object([
                    ("name", .string(process.name)), ("executable", .string(process.executable)),
                    ("profile", .string(process.profile)), ("resources", .array(process.resources.map { .string($0) })),
                ])
            }
            let limits: [(String, JSONValue)] = cgroupLimits.writes.map { ($0.controller.limitFile, .integer(Int64($0.value))) }
            return JSONValue.object([("processes", .array(list)), ("cgroupLimits", .object(limits))]).rendered() + "\n"
        }
        var out = ""
        if !cgroupLimits.isEmpty {
            out += "the VM's cgroup v2 (every process below is born in it): "
                + cgroupLimits.writes.map { "\($0.controller.limitFile) \($0.value)" }.joined(separator: ", ") + "\n"
        }
        for (index, process) in processes.enumerated() {
            out += "\(index + 1). \(process.name): \(process.executable)\n   profile: \(process.profile)\n"
            for resource in process.resources { out += "   - \(resource)\n" }
        }
        out += "then: the parent seals itself (profile parent) and supervises\n"
        return out
    }
}
