import BulkheadProtocol
import CParent
import Glibc
import HostAccess
import Vocabulary

/// The VM's hooks, asked of the exec helper over its socket (`exec.run-hook`), one at a
/// time and in this order (README "Hooks"):
///
/// 1. `prepare` before the worker starts (`LaunchedVM`); a failure ends the start, exit 77.
/// 2. `up TAP` per declared tap once the worker reports `ready`: by then it has asked the
///    net helper for every tap and holds them all (it does that before its threads confine).
///    The parent does not watch the worker's requests to the net helper, and does not need
///    to: `ready` is the worker's own statement that its devices exist. A failure ends the
///    VM (exit 77): its network is not what the operator declared (QEMU fails too).
/// 3. `started` once the worker reports `started` (a vCPU's first KVM_RUN returned); a
///    failure is reported, the VM runs on.
/// 4. `down TAP` per tap, then `stopped`, after the worker and the other helpers were
///    reaped (`Supervisor`); a failure is reported, the VM's status kept.
///
/// The request names the phase (the hook's name) and, for `up`/`down`, the tap; the exec
/// helper adds the declared arguments, the environment (BULKHEAD_VM, BULKHEAD_PHASE,
/// BULKHEAD_TAP), the time limit and the output cap. While the VM runs a request is sent
/// and its reply read when the socket is readable, so the supervisor keeps watching its
/// children; before and after it, the parent waits for the reply (ppoll, bounded).
/// Each reply's output goes to stderr (or the journal) line by line, with the VM's name.
final class HookPhases {
    private let client: RequestClient
    private let declared: Set<HookPhase>
    private let taps: [String]
    private let vmName: String
    /// The exec helper's limit, its drain after a kill and slack: past this the parent stops
    /// waiting (the helper itself is stuck) and treats the hook as failed.
    private let replyWaitMilliseconds: Int
    private var queue: [(phase: HookPhase, tap: String?)] = []
    private var pending: (phase: HookPhase, tap: String?, requestID: UInt32)?
    private var devicesReady = false
    private var guestRan = false
    /// The exec helper hung up or failed: no further hook is asked for.
    private(set) var helperGone = false

    /// The exec helper's default time limit (Helpers/README.md), when `--hook-timeout-ms` is absent.
    static let defaultTimeoutMilliseconds = 30_000
    static let replySlackMilliseconds = 2_000

    init?(_ plan: LaunchPlan, sockets: [SeqPacketSocket]) {
        guard let index = plan.helpers.firstIndex(where: { $0.kind == .exec }), index < sockets.count else { return nil }
        client = RequestClient(socket: sockets[index])
        declared = Set(plan.configuration.hooks.compactMap { HookPhase(rawValue: $0.name) })
        taps = plan.configuration.nets.map(\.tap)
        vmName = plan.vmName
        replyWaitMilliseconds = (plan.configuration.hookTimeoutMs ?? Self.defaultTimeoutMilliseconds) + Self.replySlackMilliseconds
    }

    var socket: SeqPacketSocket { client.socket }

    /// The fd to poll while a request is out, or -1.
    var pollFD: Int32 { pending == nil || helperGone ? -1 : client.socket.fileDescriptor.rawValue }

    // MARK: phases

    /// `prepare`, waited for. Nil, or why the start must end.
    func prepare() -> String? {
        guard declared.contains(.prepare) else { return nil }
        return runNow(.prepare, tap: nil).failure
    }

    /// The worker said `ready`: `up` for each tap, in declaration order.
    func workerReady() {
        guard !devicesReady else { return }
        devicesReady = true
        for tap in taps { enqueue(.up, tap: tap) }
    }

    /// The worker said `started`.
    func guestStarted() {
        guard !guestRan else { return }
        guestRan = true
        enqueue(.started, tap: nil)
    }

    /// The VM ended and its other processes were reaped: what is still queued, then `down`
    /// per tap (only if the worker had reported its devices ready, as QEMU runs a downscript
    /// only after its script) and `stopped`, each waited for. Failures are reported only.
    func vmEnded() {
        if let pending {
            self.pending = nil
            _ = finish(pending.phase, tap: pending.tap, requestID: pending.requestID, wait: true)
        }
        let rest = queue
        queue = []
        for (phase, tap) in rest { _ = runNow(phase, tap: tap) }
        for tap in taps where devicesReady && declared.contains(.down) { _ = runNow(.down, tap: tap) }
        if declared.contains(.stopped) { _ = runNow(.stopped, tap: nil) }
    }

    /// The exec socket is readable: the pending hook's reply. Returns why the VM must end
    /// (a failed `up`), or nil.
    func replyReady() -> String? {
        guard let pending else { return nil }
        self.pending = nil
        let outcome = finish(pending.phase, tap: pending.tap, requestID: pending.requestID, wait: false)
        sendNext()
        // A helper that hung up is not a hook's verdict: its death, reaped next, is the cause.
        guard pending.phase == .up, case .failed(let why) = outcome else { return nil }
        return why
    }

    /// How one request ended. Every failure is already reported when this is returned.
    enum Outcome {
        case succeeded
        /// The hook failed (status, signal, time limit) or the helper refused it.
        case failed(String)
        /// No verdict: the exec helper hung up, failed or did not answer in time.
        case helperGone(String)

        var failure: String? {
            switch self {
            case .succeeded: nil
            case .failed(let why), .helperGone(let why): why
            }
        }
    }

    // MARK: requests

    private func enqueue(_ phase: HookPhase, tap: String?) {
        guard declared.contains(phase) else { return }
        queue.append((phase, tap))
        sendNext()
    }

    private func sendNext() {
        while pending == nil, !helperGone, !queue.isEmpty {
            let (phase, tap) = queue.removeFirst()
            if let requestID = send(phase, tap: tap) { pending = (phase, tap, requestID) }
        }
    }

    /// One hook, waited for.
    private func runNow(_ phase: HookPhase, tap: String?) -> Outcome {
        guard let requestID = send(phase, tap: tap) else { return .helperGone(notRun(phase, tap)) }
        return finish(phase, tap: tap, requestID: requestID, wait: true)
    }

    private func send(_ phase: HookPhase, tap: String?) -> UInt32? {
        guard !helperGone else { return nil }
        let request = ExecRunHookRequest(hook: phase.rawValue, arguments: tap.map { [$0] } ?? [])
        do { return try client.send(command: ExecRunHookRequest.command, body: request.body) } catch {
            helperGone = true
            StandardError.line("\(label(phase, tap)): cannot ask the exec helper: \(error)")
            return nil
        }
    }

    private func notRun(_ phase: HookPhase, _ tap: String?) -> String {
        let why = "\(label(phase, tap)) was not run: the exec helper is gone"
        StandardError.line(why)
        return why
    }

    /// Reads (after waiting, if `wait`) and reports the reply.
    private func finish(_ phase: HookPhase, tap: String?, requestID: UInt32, wait: Bool) -> Outcome {
        let name = label(phase, tap)
        if wait {
            var fds = [pollfd(fd: client.socket.fileDescriptor.rawValue, events: Int16(POLLIN), revents: 0)]
            var ready: Int32
            repeat { ready = bh_ppoll_ms(&fds, 1, replyWaitMilliseconds) } while ready == -EINTR
            guard ready > 0 else {
                helperGone = true
                let why = "\(name): no answer from the exec helper within \(replyWaitMilliseconds) ms"
                StandardError.line(why)
                return .helperGone(why)
            }
        }
        let reply: ExecRunHookReply
        do {
            let (body, _) = try client.receiveReply(to: ExecRunHookRequest.command, requestID: requestID)
            reply = try ExecRunHookReply.decode(body)
        } catch ProtocolError.remote(_, let message) {
            let why = "\(name) refused by the exec helper: \(message)"
            StandardError.line(why)
            return .failed(why)
        } catch {
            helperGone = true
            let why = "\(name): the exec helper failed: \(error)"
            StandardError.line(why)
            return .helperGone(why)
        }
        for line in reply.stdout.split(separator: 0x0A) {
            StandardError.line("\(name): \(Self.printable(line))")
        }
        if reply.truncated { StandardError.line("\(name): output cut at \(reply.stdout.count) bytes") }
        let how: String
        if reply.timedOut {
            how = "ran past its time limit and was killed"
        } else if reply.signal != 0 {
            how = "was killed by signal \(reply.signal)"
        } else if reply.exitStatus != 0 {
            how = "exited with status \(reply.exitStatus)"
        } else {
            return .succeeded
        }
        let why = "\(name) \(how)"
        StandardError.line(why)
        return .failed(why)
    }

    /// A hook's output line as text that cannot forge a log line: printable ASCII as is,
    /// every other byte (and a backslash) as `\xNN`.
    static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        var text = ""
        for byte in bytes {
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text
    }

    private func label(_ phase: HookPhase, _ tap: String?) -> String {
        "vm \(vmName): hook \(phase.rawValue)\(tap.map { " (tap \($0))" } ?? "")"
    }
}
