import ArgumentParser
import Cgroup
import CParent
import CShim
import Glibc
import RunSpecs
import Sandbox
import SystemPackage
import Vocabulary

/// `bulkhead run [options]`: validate, apply the policy, start the helpers and the worker,
/// seal, supervise, and exit with a status that says what happened (ExitStatus).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a VM: the built-in test guest by default, or --kernel.",
        discussion: """
            Exit status: 0 the guest powered off cleanly; the guest's own failure status;
            64 usage; 65 bad configuration or policy refusal (nothing started); 69 a helper
            failed; 70 the worker failed; 71 the parent could not start the VM; 77 a prepare
            or up hook failed; 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (143 also for Ctrl-] q
            on the console); 159 a forbidden call (report on stderr). Console input: stdin (a
            terminal in raw mode, a pipe or a file) reaches the guest's UART.
            """)

    @OptionGroup var options: RunOptions

    func run() throws {
        // Nothing inherited beyond stdio reaches the helpers, the worker or the sealed parent.
        _ = bh_close_from(3)
        // A closed stdin becomes /dev/null, so no file opened later lands on fd 0 and is taken
        // for console input (ConsoleInput.Source).
        if fcntl(0, F_GETFD) < 0 { _ = open("/dev/null", O_RDONLY) }
        var plan: LaunchPlan
        let defense: RunDefense
        let controlSettings: ControlSettings
        do {
            plan = try Self.plan(options)
            controlSettings = try ControlSettings(options.control)
            defense = try RunDefense(options.defense)  // registry entry and identities (DESIGN.md §7)
            plan.identities = defense.identities
            plan.vmName = options.defense.name ?? "vm-\(getpid())"
        } catch {
            StandardError.line("\(error)")
            Glibc.exit(ExitStatus.configuration)
        }
        ParentJournal.start(vm: plan.vmName)
        // The VM's cgroup v2, before any child exists (CgroupSetup): every child joins it.
        let cgroup: VMCgroup?
        do {
            let registration = defense.registration
            let (made, absent) = try CgroupSetup.create(vmName: registration?.name, limits: plan.cgroupLimits) {
                registration?.record(cgroup: .directory($0))
            }
            cgroup = made
            if let absent {
                registration?.record(cgroup: .absent(absent))
                if defense.changesIdentities {
                    StandardError.line("no cgroup for this VM (\(absent)): the sealed parent keeps CAP_KILL to end its children")
                }
            } else if let made, !made.canKill, defense.changesIdentities {
                StandardError.line("\(made.directory) has no cgroup.kill (kernel before 5.14): the sealed parent keeps CAP_KILL")
            }
        } catch {
            StandardError.line("\(error)")
            defense.registration?.remove()
            Glibc.exit(ExitStatus.configuration)
        }
        signal(SIGPIPE, SIG_IGN)
        // Signals are blocked and read from a signalfd from here on, so a child that dies
        // during start-up or a Ctrl-C is seen by the supervisor, not lost.
        let signals = [SIGCHLD, SIGINT, SIGTERM, SIGHUP]
        let signalFD = signals.withUnsafeBufferPointer { bh_signalfd_blocking($0.baseAddress, Int32($0.count)) }
        guard signalFD >= 0 else {
            StandardError.line("signalfd: \(String(cString: strerror(-signalFD)))")
            Glibc.exit(ExitStatus.systemError)
        }
        // Opened before any child exists: records written after this point are ours to read.
        let audit = try? KernelAuditLog()
        if audit == nil && plan.configuration.seccomp == .kill {
            StandardError.line("warning: cannot read /dev/kmsg; a forbidden call will be reported as unknown")
        }
        // The console input pipe, and raw mode on a terminal: restored on every way out below.
        // With a control socket, the tee that `bulkhead console` shows the output through.
        let console: ConsoleInput?
        let tee: ConsoleTee?
        do {
            tee = plan.attachable ? try ConsoleTee() : nil  // first: raw mode is the last thing set
            console = try plan.consoleInput.map { try ConsoleInput(source: $0, attachable: plan.attachable) }
        } catch {
            StandardError.line("\(error)")
            Self.removeCgroupAndRegistration(cgroup, defense.registration)
            Glibc.exit(ExitStatus.systemError)
        }
        var vm: LaunchedVM
        do {
            vm = try LaunchedVM.start(plan, in: cgroup, consoleInput: console, consoleTee: tee)
        } catch {
            console?.restoreTerminal()
            StandardError.line("\(error)")
            Self.removeCgroupAndRegistration(cgroup, defense.registration)
            Glibc.exit((error as? LaunchError)?.exitStatus ?? ExitStatus.systemError)
        }
        defense.registration?.record(
            vm.helpers.map { ($0.name, $0.pid) } + (vm.worker.map { [($0.name, $0.pid)] } ?? []))
        // The control socket (`--name`): listening before the seal, served by the sealed parent.
        var control: ControlServer?
        if options.defense.name != nil, let registration = defense.registration {
            do {
                try ControlServer.listen(at: registration.controlPath)
                control = ControlServer(settings: controlSettings, facts: Self.facts(plan, vm), console: console, tee: tee)
            } catch {
                StandardError.line("\(error)")
                vm.killAll()
                Self.removeCgroupAndRegistration(cgroup, defense.registration)
                _exit(ExitStatus.systemError)
            }
        }
        do {
            // With cgroup.kill the parent needs no capability, and no kill(2), to end its children.
            let ending: ParentSeal.Ending =
                cgroup?.canKill == true ? .cgroupKill : .signals(keepingCapKill: defense.changesIdentities)
            try ParentSeal.seal(mode: plan.configuration.seccomp, ending: ending)
        } catch {
            console?.restoreTerminal()
            StandardError.line("\(error)")
            vm.killAll()
            Self.removeCgroupAndRegistration(cgroup, defense.registration)
            _exit(ExitStatus.systemError)
        }
        let status = Supervisor(vm: vm, signalFD: FileDescriptor(rawValue: signalFD), audit: audit, control: control).run()
        console?.restoreTerminal()
        Self.removeCgroupAndRegistration(cgroup, defense.registration)
        _exit(status)
    }

    /// What the control socket's `info` reports that does not change while the VM runs.
    static func facts(_ plan: LaunchPlan, _ vm: LaunchedVM) -> ControlServer.Facts {
        let configuration = plan.configuration
        let console =
            switch configuration.console {
            case .stdout: "stdout"
            case .none: "none"
            case .file(let path): path
            }
        var devices = ["serial 16550 (console \(console))"]
        devices += configuration.disks.map { "virtio-blk \($0.path) (\($0.readOnly ? "ro" : "rw"))" }
        devices += configuration.nets.map { "virtio-net tap=\($0.tap)" }
        let processes = [("parent", getpid())] + vm.helpers.map { ($0.name, $0.pid) } + (vm.worker.map { [($0.name, $0.pid)] } ?? [])
        return ControlServer.Facts(
            vcpus: UInt32(configuration.cpus), memoryMiB: UInt32(configuration.memoryMiB), devices: devices,
            pids: processes.map { "\($0.0) \($0.1)" })
    }

    /// The end of a run (works sealed: unlinkat on held fds). A cgroup that cannot be removed
    /// keeps the registry entry that names it, so `bulkhead status` or the next run finds it.
    static func removeCgroupAndRegistration(_ cgroup: VMCgroup?, _ registration: VMRegistration?) {
        if let failure = cgroup?.remove() {
            StandardError.line("the VM's cgroup stays (\(failure)); `bulkhead status` removes it once it can")
            return
        }
        registration?.remove()
    }

    /// Validation and policy, shared with `bulkhead check`: any error means nothing starts.
    /// As root, a spawned block helper will be the `--user` account with no capability: each
    /// declared file must be open to it (HelperUserAccess).
    static func plan(_ options: RunOptions) throws -> LaunchPlan {
        let configuration = try RunConfiguration(options)
        _ = try ControlSettings(options.control)  // so `check` refuses what `run` would
        if geteuid() == 0, configuration.connect[.block] == nil, !configuration.blockFiles.isEmpty {
            try HelperUserAccess.check(configuration.blockFiles, for: HelperAccount(named: options.defense.user))
        }
        do {
            try configuration.policy.check(configuration)
        } catch {
            throw ConfigurationError("refused", "\(error)")
        }
        // `--name` serves a control socket: the worker gets the console pipes `bulkhead console` uses.
        var plan = try LaunchPlan(configuration, attachable: options.defense.name != nil)
        plan.cgroupLimits = try CgroupSetup.limits(options.cgroup, for: plan)
        return plan
    }
}
