import BulkheadProtocol
import CParent
import Glibc
import Sandbox
import SystemPackage
import Vocabulary

/// The sealed parent's only job (DESIGN.md §2 step 7): wait until the guest powers off, a
/// child dies or a signal asks to stop; end the rest (hang up on the helpers and send the
/// worker `stop`, then after a grace period write the VM cgroup's cgroup.kill — or, without a
/// cgroup, SIGTERM and SIGKILL); reap everything; say what happened; return the exit status.
/// It waits in ppoll on a signalfd (SIGCHLD, SIGINT, SIGTERM, SIGHUP), the worker's report pipe,
/// its status socket and each helper's stderr pipe: read, ppoll, wait4, write and close are all it calls (kill too, only
/// for a VM without a cgroup: ParentSeal), and sendmsg/recvmsg for the hooks it asks the
/// exec helper for (HookPhases): while the VM runs their replies are one more fd it polls.
final class Supervisor {
    private var vm: LaunchedVM
    private let signalFD: FileDescriptor
    private let audit: KernelAuditLog?
    private let hasAudit: Bool
    /// Processes not yet reaped, by pid.
    private var alive: [pid_t: ChildProcess] = [:]
    private var endings: [pid_t: ChildEnding] = [:]
    /// Children the parent itself signalled while ending the VM: their deaths are not news.
    private var signalled: Set<pid_t> = []
    /// The worker's report pipe and status socket, each read through a bounded line buffer.
    private var report: ChildLines?
    private var status: ChildLines?
    /// Each helper's stderr pipe (by position in `vm.helpers`), relayed like the report pipe.
    private var helperErrors: [ChildLines?]
    /// Set when the worker (or a helper, on its stderr) wrote a line longer than `ChildLines.maximumLine`: the VM is ended.
    private var flooded = false
    private var trapLine: Substring?
    /// The VM's control socket (`--name`), served in this loop; nil without one.
    private let control: ControlServer?

    static let graceMilliseconds = 500
    /// After SIGKILL a child is gone within microseconds; this only bounds a child that
    /// could not be signalled.
    static let killWaitMilliseconds = 1000
    /// How long the kernel's audit record for a killed worker is looked for.
    static let auditRetries = 10
    static let auditRetryMilliseconds = 20

    private enum Cause {
        case workerEnded(ChildProcess, ChildEnding)
        case helperEnded(ChildProcess, ChildEnding)
        case signal(Int32)
        /// The worker wrote a line past the bound (ChildLines); the reason is already printed.
        case flooded
        /// `ctl stop`: the guest did not power off within the caller's timeout.
        case controlStop
        /// An `up` hook failed (HookPhases).
        case hookFailed(String)
        /// The console's escape sequence (ConsoleEscape): stopped as SIGTERM stops the VM.
        case consoleQuit
    }

    init(vm: LaunchedVM, signalFD: FileDescriptor, audit: consuming KernelAuditLog?, control: ControlServer? = nil) {
        self.vm = vm
        self.control = control
        self.signalFD = signalFD
        self.hasAudit = audit != nil
        self.audit = audit
        report = vm.reportFD.map { ChildLines(fd: $0) }
        status = vm.statusFD.map { ChildLines(fd: $0) }
        helperErrors = vm.helperErrorFDs.map { $0.map { ChildLines(fd: $0) } }
        for child in vm.helpers + (vm.worker.map { [$0] } ?? []) { alive[child.pid] = child }
    }

    func run() -> Int32 {
        let cause = waitForCause()
        endEverything()
        return judge(cause)
    }

    // MARK: waiting

    private func waitForCause() -> Cause {
        while true {
            var fds = [pollfd(fd: signalFD.rawValue, events: Int16(POLLIN), revents: 0)]
            if let fd = vm.reportFD { fds.append(pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)) }
            if let fd = vm.statusFD { fds.append(pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)) }
            for case let fd? in vm.helperErrorFDs { fds.append(pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)) }
            let hookFD = vm.hooks?.pollFD ?? -1
            if hookFD >= 0 { fds.append(pollfd(fd: hookFD, events: Int16(POLLIN), revents: 0)) }
            if let console = vm.consoleInput { fds += console.pollEntries() }
            if let tee = vm.consoleTee { fds += tee.pollEntries }
            let controlStart = fds.count
            if let control { fds += control.pollFDs }
            let n = bh_ppoll_ms(&fds, UInt(fds.count), control?.pollTimeoutMilliseconds ?? -1)
            if n == -EINTR { continue }
            for entry in fds[..<controlStart] where entry.revents != 0 {
                if entry.fd == vm.reportFD?.rawValue { readReport() }
                if entry.fd == vm.statusFD?.rawValue { readStatus() }
                if let index = vm.helperErrorFDs.firstIndex(where: { $0?.rawValue == entry.fd }) { readHelperErrors(index) }
                if entry.fd == hookFD, let failure = vm.hooks?.replyReady() { return .hookFailed(failure) }
            }
            if let console = vm.consoleInput {
                console.serve(fds)
                if console.quitRequested { return .consoleQuit }
            }
            if flooded { return .flooded }
            if let tee = vm.consoleTee {
                tee.serve(fds)
                control?.consoleOutputArrived()
            }
            if let control {
                control.serve(Array(fds[controlStart...]), statusFD: vm.statusFD)
                if control.hardStopIsDue { return .controlStop }
            }
            guard fds[0].revents != 0 else { continue }
            var stop: Int32?
            while true {
                let signal = bh_signalfd_read(signalFD.rawValue)
                guard signal > 0 else { break }
                if signal == SIGINT || signal == SIGTERM || signal == SIGHUP { stop = stop ?? signal }
            }
            if let stop { return .signal(stop) }
            for (child, ending) in reap() {
                if child.pid == vm.worker?.pid { return .workerEnded(child, ending) }
                return .helperEnded(child, ending)
            }
        }
    }

    /// wait4(-1, WNOHANG) until nothing more has ended.
    private func reap() -> [(ChildProcess, ChildEnding)] {
        var ended: [(ChildProcess, ChildEnding)] = []
        while true {
            var status: Int32 = 0
            let pid = wait4(-1, &status, WNOHANG, nil)
            if pid < 0 && errno == EINTR { continue }
            guard pid > 0 else { break }
            guard let child = alive.removeValue(forKey: pid) else { continue }
            let ending = ChildEnding(waitStatus: status)
            endings[pid] = ending
            ended.append((child, ending))
        }
        // The worker first: a helper that exits because the worker hung up is not the cause.
        return ended.filter { $0.0.pid == vm.worker?.pid } + ended.filter { $0.0.pid != vm.worker?.pid }
    }

    /// Relays the worker's report lines to stderr, sanitised; keeps the trap-mode line for the report.
    private func readReport() {
        guard let fd = vm.reportFD, let reading = report?.read() else { return }
        for line in reading.lines {
            if line.starts(with: Self.trapPrefix) {
                trapLine = Substring(String(decoding: line, as: UTF8.self))
            } else {
                StandardError.relay(ChildLines.sanitised(line, from: "worker"))
            }
        }
        if ended(reading.end, fd, "report pipe") { vm.reportFD = nil }
    }

    private static let trapPrefix = Array("bulkhead-sigsys ".utf8)

    private func readStatus() {
        guard let fd = vm.statusFD, let reading = status?.read() else { return }
        for line in reading.lines {
            if line.starts(with: Array("poweroff ".utf8)) {
                continue  // the worker's word on its status; the parent takes the status from waitpid
            } else if line.elementsEqual("ready".utf8) {
                vm.hooks?.workerReady()  // `up` per tap (HookPhases)
            } else if line.elementsEqual("started".utf8) {
                vm.hooks?.guestStarted()
            } else {
                control?.workerAnswered(Substring(String(decoding: line, as: UTF8.self)))
            }
        }
        if ended(reading.end, fd, "status socket") { vm.statusFD = nil }
    }

    /// Relays a helper's stderr lines, sanitised, as `bulkhead-block: …` (or net, exec).
    private func readHelperErrors(_ index: Int) {
        let helper = vm.helpers[index]
        guard let fd = vm.helperErrorFDs[index], let reading = helperErrors[index]?.read() else { return }
        for line in reading.lines { StandardError.relay(ChildLines.sanitised(line, from: helper.name)) }
        if ended(reading.end, fd, "stderr", by: "the \(helper.name) helper (pid \(helper.pid))") {
            vm.helperErrorFDs[index] = nil
        }
    }

    /// Closes a stream a child closed or flooded (true: it is closed); a flood is named and
    /// ends the VM.
    private func ended(_ end: ChildLines.End?, _ fd: FileDescriptor, _ stream: String, by child: String? = nil) -> Bool {
        guard let end else { return false }
        try? fd.close()
        if case .overflow(let dropped) = end {
            flooded = true
            StandardError.line(
                "\(child ?? "the worker (pid \(vm.worker?.pid ?? 0))") wrote \(dropped) bytes to its \(stream) without a newline "
                    + "(at most \(ChildLines.maximumLine) per line): dropped, and the VM was ended")
        }
        return true
    }

    // MARK: ending

    /// The polite stop: hangs up on every helper (a helper exits when its peer does) and sends
    /// the worker `stop` on its status socket (it exits 143), then waits a grace period. What
    /// is left is killed through the VM's cgroup.kill — the sealed parent holds no capability,
    /// and the children run under other uids — or, without a cgroup (the parent then kept
    /// CAP_KILL), SIGTERMed, waited for again and SIGKILLed. Everything is reaped.
    ///
    /// With hooks, the exec helper is spared at first: once the rest is reaped it runs
    /// `down` and `stopped` (HookPhases.vmEnded), and is then ended the same way. A cgroup.kill
    /// in the first round ends it too; those hooks are then reported as not run.
    private func endEverything() {
        let execSocket = vm.hooks?.socket
        let exec = vm.hooks == nil ? nil : vm.helpers.first { $0.name == HelperKind.exec.rawValue }?.pid
        closeHelperSockets(except: execSocket)
        if let worker = vm.worker, alive[worker.pid] != nil, let statusFD = vm.statusFD {
            var stop = "stop\n"
            _ = stop.withUTF8 { write(statusFD.rawValue, $0.baseAddress, $0.count) }
        }
        endChildren(sparing: exec)
        if let worker = vm.worker, alive[worker.pid] == nil {
            while vm.statusFD != nil { readStatus() }  // a last `started` still in the socket
        }
        if let hooks = vm.hooks {
            hooks.vmEnded()
            closeHelperSockets(except: nil)
            endChildren(sparing: nil)
        }
        // A child that could not be killed still ends when the parent exits: the worker and
        // each helper at the end of file of its socket to the parent, and by
        // PR_SET_PDEATHSIG(SIGKILL) where the parent may signal it (CAP_KILL kept, or one uid).
        for child in alive.values {
            StandardError.line("\(child.name) (pid \(child.pid)) did not end; it ends with the parent (its socket's end of file)")
        }
        // Once the worker is gone its report pipe ends: relay what is left in it.
        if let worker = vm.worker, alive[worker.pid] == nil {
            while vm.reportFD != nil { readReport() }
        }
        for (index, fd) in vm.helperErrorFDs.enumerated() {
            guard let fd else { continue }
            helperErrors[index]?.relayWhatIsLeft(from: vm.helpers[index].name)
            try? fd.close()
            vm.helperErrorFDs[index] = nil
        }
    }

    private func closeHelperSockets(except kept: SeqPacketSocket?) {
        vm.helperSockets.filter { $0 != kept }.forEach { $0.close() }
        vm.helperSockets = vm.helperSockets.filter { $0 == kept }
    }

    /// Waits a grace period for every child but `spared`, then ends what is left of them.
    private func endChildren(sparing spared: pid_t?) {
        waitForAll(milliseconds: Self.graceMilliseconds, sparing: spared)
        let stubborn = alive.values.filter { $0.pid != spared }.sorted { $0.pid < $1.pid }.map { "\($0.name) (pid \($0.pid))" }
        if let cgroup = vm.cgroup, cgroup.canKill {
            if !stubborn.isEmpty {
                StandardError.line(
                    "did not stop within \(Self.graceMilliseconds) ms: \(stubborn.joined(separator: ", ")); killed through the VM's cgroup.kill")
                // The sealed profile has no kill(2): if this fails, they end with the parent (below).
                signalled.formUnion(alive.keys)
                if cgroup.killAll() != 0 { StandardError.line("cgroup.kill of \(cgroup.directory) failed") }
            }
        } else {
            if !stubborn.isEmpty {
                StandardError.line("did not stop within \(Self.graceMilliseconds) ms: \(stubborn.joined(separator: ", ")); SIGTERM, then SIGKILL")
            }
            for pid in alive.keys where pid != spared { signal(pid, SIGTERM) }
            waitForAll(milliseconds: Self.graceMilliseconds, sparing: spared)
            for pid in alive.keys where pid != spared { signal(pid, SIGKILL) }
        }
        waitForAll(milliseconds: Self.killWaitMilliseconds, sparing: spared)
    }

    private func signal(_ pid: pid_t, _ signal: Int32) {
        signalled.insert(pid)
        kill(pid, signal)
    }

    private func waitForAll(milliseconds: Int, sparing spared: pid_t? = nil) {
        var left = milliseconds
        func waiting() -> Bool { alive.keys.contains { $0 != spared } }
        while waiting() && left > 0 {
            _ = reap()
            guard waiting() else { return }
            var fds = [pollfd(fd: signalFD.rawValue, events: Int16(POLLIN), revents: 0)]
            let step = min(left, 50)
            _ = bh_ppoll_ms(&fds, 1, step)
            while bh_signalfd_read(signalFD.rawValue) > 0 {}
            left -= step
        }
        _ = reap()
    }

    // MARK: judging

    /// A helper that died of a signal the parent did not send (or reported a forbidden call in
    /// trap mode): killed from outside, or crashed. nil when every helper ended on hang-up.
    private func helperThatDiedOnItsOwn() -> (ChildProcess, ChildEnding)? {
        for helper in vm.helpers {
            guard let ending = endings[helper.pid], !signalled.contains(helper.pid) else { continue }
            if case .signaled = ending { return (helper, ending) }
            if ending == .exited(ForbiddenCallReport.exitStatus) { return (helper, ending) }
        }
        return nil
    }

    private func judge(_ cause: Cause) -> Int32 {
        // A worker that fails because a helper died under it (its request got "the peer hung
        // up") can be reaped before that helper: the kernel closes a dying process's sockets
        // before it makes it a zombie. Then the helper's death is the cause, not the worker's.
        if case .workerEnded(_, let ending) = cause, Self.isWorkerFailure(ending), let (helper, helperEnding) = helperThatDiedOnItsOwn() {
            return explain(.helperEnded(helper, helperEnding))
        }
        let status = explain(cause)
        // A helper killed as the guest powered off changes nothing, but the operator is told.
        if case .workerEnded = cause, let (helper, ending) = helperThatDiedOnItsOwn() {
            StandardError.line("the \(helper.name) helper (pid \(helper.pid)) \(ending) during shutdown")
        }
        return status
    }

    /// An ending a helper's death can explain: the VMM error status, or a signal (SIGPIPE
    /// when not PID 1) other than SIGSYS, which is a forbidden call of the worker's own.
    private static func isWorkerFailure(_ ending: ChildEnding) -> Bool {
        switch ending {
        case .exited(let code): code == ExitStatus.workerFailure
        case .signaled(let signal): signal != SIGSYS
        }
    }

    /// Prints what happened and returns the exit status for it.
    private func explain(_ cause: Cause) -> Int32 {
        switch cause {
        case .signal(let signal):
            StandardError.line("\(ChildEnding.signalName(signal)) received: the VM was stopped")
            return ExitStatus.interrupted(by: signal)
        case .flooded:
            return ExitStatus.workerFailure
        case .controlStop:
            let timeout = control?.stopTimeoutMilliseconds ?? 0
            StandardError.line("stopped by the control socket: the guest did not power off within \(timeout) ms")
            return ExitStatus.interrupted(by: SIGTERM)
        case .hookFailed(let why):
            StandardError.line("the VM was ended: \(why)")
            return ExitStatus.hookFailed
        case .consoleQuit:
            StandardError.line("Ctrl-] q on the console: the VM was stopped")
            return ExitStatus.interrupted(by: SIGTERM)
        case .workerEnded(let worker, let ending):
            switch ending {
            case .exited(ForbiddenCallReport.exitStatus):
                let report = trapLine.flatMap { ForbiddenCallReport.parseTrapReport($0, process: "worker") }
                reportForbiddenCall(report ?? unknownReport(worker))
                return ExitStatus.forbiddenCall
            case .exited(let code):
                if code == ExitStatus.usage {
                    StandardError.line("the worker refused its command line (a bulkhead bug)")
                    return ExitStatus.workerFailure
                }
                return code
            case .signaled(SIGSYS):
                reportForbiddenCall(auditReport(worker))
                return ExitStatus.forbiddenCall
            case .signaled:
                StandardError.line("the worker (pid \(worker.pid)) \(ending)")
                return ExitStatus.workerFailure
            }
        case .helperEnded(let helper, let ending):
            switch ending {
            case .signaled(SIGSYS):
                reportForbiddenCall(auditReport(helper))
                return ExitStatus.forbiddenCall
            case .exited(ForbiddenCallReport.exitStatus):
                StandardError.line("forbidden call: process \(helper.name) helper pid \(helper.pid) (its report is above)")
                return ExitStatus.forbiddenCall
            default:
                StandardError.line("the \(helper.name) helper (pid \(helper.pid)) \(ending) while the VM ran; the VM was ended")
                return ExitStatus.helperFailure
            }
        }
    }

    private func reportForbiddenCall(_ report: ForbiddenCallReport) {
        if let journal = ParentJournal.logger {
            journal.critical("\(report.description)", metadata: ParentJournal.metadata(of: report))
        } else {
            StandardError.line(report.description)
        }
    }

    private func unknownReport(_ child: ChildProcess) -> ForbiddenCallReport {
        ForbiddenCallReport(process: child.name, pid: child.pid, thread: nil, syscallNumber: nil, abi: nil, source: .unknown)
    }

    /// Kill mode: the kernel's own record for that pid. It can lag the SIGCHLD a little, and
    /// the kernel rate-limits it: after ~200 ms the answer is "unknown", never a guess.
    private func auditReport(_ child: ChildProcess) -> ForbiddenCallReport {
        guard hasAudit else { return unknownReport(child) }
        for attempt in 0...Self.auditRetries {
            if let report = audit?.forbiddenCall(pid: child.pid, process: child.name) { return report }
            if attempt < Self.auditRetries {
                var none: [pollfd] = []
                _ = bh_ppoll_ms(&none, 0, Self.auditRetryMilliseconds)
            }
        }
        return unknownReport(child)
    }
}
