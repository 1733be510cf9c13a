import BulkheadProtocol
import Cgroup
import Glibc
import SystemPackage
import Vocabulary

/// The processes of one VM once `start` has launched them (DESIGN.md §2 steps 2-4), and the
/// fds the parent keeps to supervise them. Everything else it opened is closed again.
struct LaunchedVM {
    var helpers: [ChildProcess] = []
    /// The parent's end of each helper's socket, kept while the VM runs: a helper exits when
    /// its peer hangs up, so closing these is how the parent ends helpers gracefully.
    var helperSockets: [SeqPacketSocket] = []
    /// Read end of each started helper's stderr pipe, by position in `helpers`: what a helper
    /// writes reaches the operator only through the supervisor's bounded, sanitised relay.
    var helperErrorFDs: [FileDescriptor?] = []
    var worker: ChildProcess?
    /// Read end of the worker's report pipe (errors and the trap-mode line).
    var reportFD: FileDescriptor?
    /// The parent's end of the worker's status socket (`ready`, `poweroff N`; `stop` from the parent).
    var statusFD: FileDescriptor?
    /// The VM's cgroup v2, which every child is born in (CgroupSetup); nil without one.
    var cgroup: VMCgroup?
    /// The hooks asked of the exec helper (HookPhases); nil without an exec helper.
    var hooks: HookPhases?
    /// The console input the supervisor relays (ConsoleInput); nil when stdin gives none.
    var consoleInput: ConsoleInput?
    /// The copy of the console output for `bulkhead console` (ConsoleTee); nil without a control socket.
    var consoleTee: ConsoleTee?

    static let handshakeTimeoutMicroseconds = 2_000_000

    /// Starts every helper of `plan` and waits for its handshake, then opens /dev/kvm and
    /// starts the worker. On failure whatever was started is killed and reaped.
    static func start(
        _ plan: LaunchPlan, in cgroup: VMCgroup?, consoleInput: ConsoleInput? = nil, consoleTee: ConsoleTee? = nil
    ) throws -> LaunchedVM {
        var vm = LaunchedVM()
        vm.cgroup = cgroup
        vm.consoleInput = consoleInput
        vm.consoleTee = consoleTee
        defer {
            consoleInput?.workerStarted()
            consoleTee?.workerStarted()
        }
        do {
            try vm.launch(plan)
        } catch {
            vm.killAll()
            throw error
        }
        cgroup?.closeJoinFD()  // nothing more joins it: the sealed parent keeps only cgroup.kill
        return vm
    }

    private mutating func launch(_ plan: LaunchPlan) throws {
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { throw LaunchError.system("open /dev/null: \(String(cString: strerror(errno)))") }
        defer { close(devNull) }

        // Every helper is started first and then greeted, so they start up side by side.
        for helper in plan.helpers {
            if let path = helper.connectTo {  // a socket-activated service (HelperConnections)
                do { helperSockets.append(try HelperConnections.connect(to: path)) } catch {
                    throw LaunchError.helper("\(helper.kind.rawValue) service \(path): cannot connect: \(error)")
                }
                continue
            }
            let (mine, theirs): (SeqPacketSocket, SeqPacketSocket)
            do { (mine, theirs) = try SeqPacketSocket.pair() } catch { throw LaunchError.system("socketpair: \(error)") }
            helperSockets.append(mine)
            var errors: [Int32] = [-1, -1]
            guard pipe(&errors) == 0, fcntl(errors[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(errors[1], F_SETFD, FD_CLOEXEC) == 0 else { throw LaunchError.system("pipe: \(String(cString: strerror(errno)))") }
            helperErrorFDs.append(FileDescriptor(rawValue: errors[0]))
            do {
                defer { theirs.close(); close(errors[1]) }
                helpers.append(
                    try ChildProcess.spawn(
                        name: helper.kind.rawValue, program: plan.program(plan.executable(of: helper)), executable: plan.executable(of: helper),
                        arguments: plan.helperArguments(helper), fds: [devNull, 1, errors[1], theirs.fileDescriptor.rawValue],
                        runAs: plan.identities[helper.kind.rawValue], vm: plan.vmName, cgroupFD: cgroup?.joinFD))
            } catch {
                try? helperErrorFDs.removeLast()?.close()
                throw LaunchError.helper("\(helper.kind.rawValue) helper: \(error)")
            }
        }
        var spawned = helpers.makeIterator()
        for (index, helper) in plan.helpers.enumerated() {
            let socket = helperSockets[index]
            if let path = helper.connectTo {
                do {
                    try socket.setReceiveTimeout(microseconds: Self.handshakeTimeoutMicroseconds)
                    let reply = try RequestClient(socket: socket).hello()
                    try socket.setReceiveTimeout(microseconds: 0)
                    guard reply.helper == helper.executableName else {
                        throw LaunchError.helper("answered hello as \(reply.helper)")
                    }
                } catch {
                    throw LaunchError.helper("\(helper.kind.rawValue) service \(path) failed its handshake: \(error)")
                }
                continue
            }
            let child = spawned.next()!
            let reply: HelloReply
            do {
                try socket.setReceiveTimeout(microseconds: Self.handshakeTimeoutMicroseconds)
                reply = try RequestClient(socket: socket).hello()
                try socket.setReceiveTimeout(microseconds: 0)
            } catch {
                throw LaunchError.helper("\(helper.kind.rawValue) helper (pid \(child.pid)) failed its handshake: \(Self.why(error, child))")
            }
            guard reply.helper == helper.kind.rawValue || reply.helper == helper.executableName else {
                throw LaunchError.helper("\(helper.kind.rawValue) helper (pid \(child.pid)) answered hello as \(reply.helper)")
            }
        }

        // `prepare`, before /dev/kvm is opened or the worker exists (HookPhases).
        hooks = HookPhases(plan, sockets: helperSockets)
        if let failure = hooks?.prepare() { throw LaunchError.hook(failure) }

        let kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        guard kvm >= 0 else { throw LaunchError.system("open /dev/kvm: \(String(cString: strerror(errno)))") }
        defer { close(kvm) }
        var report: [Int32] = [-1, -1]
        guard pipe(&report) == 0, fcntl(report[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(report[1], F_SETFD, FD_CLOEXEC) == 0 else { throw LaunchError.system("pipe: \(String(cString: strerror(errno)))") }
        reportFD = FileDescriptor(rawValue: report[0])
        defer { close(report[1]) }
        let (statusMine, statusTheirs): (SeqPacketSocket, SeqPacketSocket)
        do { (statusMine, statusTheirs) = try SeqPacketSocket.pair() } catch { throw LaunchError.system("socketpair: \(error)") }
        statusFD = statusMine.fileDescriptor
        defer { statusTheirs.close() }
        var console: Int32 = -1
        if case .file(let path) = plan.configuration.console { console = try ConsoleFile.open(path).rawValue }
        defer { if console >= 0 { close(console) } }
        func socket(of kind: HelperKind) -> Int32 {
            plan.helpers.firstIndex { $0.kind == kind }.map { helperSockets[$0].fileDescriptor.rawValue } ?? -1
        }
        typealias FD = LaunchPlan.WorkerFD
        var map = [Int32](repeating: -1, count: Int(FD.consoleTee) + 1)
        map[0] = devNull
        map[1] = 1
        // The worker's stderr is its report pipe too: whatever it writes reaches the operator
        // only through the supervisor's bounded, sanitised relay (ChildLines).
        map[2] = report[1]
        map[Int(FD.kvm)] = kvm
        map[Int(FD.report)] = report[1]
        map[Int(FD.status)] = statusTheirs.fileDescriptor.rawValue
        map[Int(FD.console)] = console
        map[Int(FD.blockSocket)] = socket(of: .block)
        map[Int(FD.netSocket)] = socket(of: .net)
        map[Int(FD.consoleInput)] = consoleInput?.workerEnd?.rawValue ?? -1
        map[Int(FD.consoleTee)] = consoleTee?.workerEnd?.rawValue ?? -1
        worker = try ChildProcess.spawn(
            name: "worker", program: plan.program(plan.workerExecutable), executable: plan.workerExecutable, arguments: plan.workerArguments, fds: map,
            runAs: plan.identities["worker"], vm: plan.vmName, newPIDNamespace: plan.identities["worker"] != nil,
            cgroupFD: cgroup?.joinFD)
    }

    /// What became of a helper whose handshake failed: its exit status if it already died.
    private static func why(_ error: any Error, _ child: ChildProcess) -> String {
        var status: Int32 = 0
        for _ in 0..<20 {
            if waitpid(child.pid, &status, WNOHANG) == child.pid {
                return "it \(ChildEnding(waitStatus: status)) (its message, if any, is above)"
            }
            usleep(10_000)
        }
        if case ProtocolError.socket(_, let errno) = error, errno == .resourceTemporarilyUnavailable {
            return "no answer within \(handshakeTimeoutMicroseconds / 1_000_000) s"
        }
        return "\(error)"
    }

    /// Startup failed: SIGKILL and reap everything started so far (the cgroup's cgroup.kill too,
    /// for whatever a child started itself).
    mutating func killAll() {
        cgroup?.killAll()
        for child in helpers + (worker.map { [$0] } ?? []) {
            kill(child.pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
        }
        // The helpers are gone: what they wrote (why one failed its handshake) is relayed
        // before the parent's own line about it.
        for (helper, fd) in zip(helpers, helperErrorFDs) {
            guard let fd else { continue }
            var lines = ChildLines(fd: fd)
            lines.relayWhatIsLeft(from: helper.name)
            try? fd.close()
        }
        helperErrorFDs = []
        helperSockets.forEach { $0.close() }
        try? reportFD?.close()
        try? statusFD?.close()
        helpers = []
        helperSockets = []
        worker = nil
        reportFD = nil
        statusFD = nil
    }
}
