import BulkheadProtocol
import CParent
import CShim
import Glibc
import Sandbox
import SystemPackage

/// The VM's control socket, `/run/bulkhead/NAME/control` (README "Operating a running VM"),
/// served by the sealed parent inside its supervision loop (Supervisor). Why the parent: it
/// already holds the worker's status socket and outlives every other process of the VM, and
/// the worker must gain no socket and no open. The parent answers `hello` and `info` itself
/// and forwards pause, resume and stop to the worker's control thread over the status
/// socket (ParentRequests), one at a time. Its profile grows only by accept4 pinned to the
/// listening fd, getsockopt pinned to SO_PEERCRED/SO_PEERGROUPS and clock_gettime.
///
/// Every connection is checked with SO_PEERCRED (and SO_PEERGROUPS) when accepted: root,
/// the VM's owner (the parent's uid) and members of `--control-group` are served; anyone
/// else gets one `peer-refused` error and is closed. Every datagram passes RequestCheck;
/// commands in a denied feature group get `command-denied`, whatever the command. Hostile
/// clients are bounded: at most `maxClients` connections, at most `datagramsPerWake`
/// datagrams per client per wake-up, one forwarded request in flight per VM, replies sent
/// without blocking — a client whose socket is full (it does not read) is dropped.
///
/// The console (`bulkhead console`): one connection at a time sends `console` and is then
/// attached until it closes; its `console.write` bytes go into the worker's console input
/// pipe (ConsoleInput.feed, which answers how many it took), and its one waiting
/// `console.read` is answered when the tee (ConsoleTee) has output. Output is only sent as
/// the answer to a read, so a client that does not read is sent nothing and holds up no one.
final class ControlServer {
    /// The listening socket's fd in the parent: fixed, so the sealed profile pins accept4 to it.
    static let listeningFD = KernelConstant.controlListeningFD
    static let maxClients = 16
    static let backlog: Int32 = 16
    static let datagramsPerWake = 8
    static let maxGroups: Int32 = 1024
    static let helloName = "bulkhead-control"
    static let socketName = "control"

    /// What `info` reports that does not change while the VM runs.
    struct Facts {
        let vcpus: UInt32
        let memoryMiB: UInt32
        let devices: [String]
        let pids: [String]
    }

    private struct Client {
        let fd: FileDescriptor
        let uid: uid_t
    }

    /// A request forwarded to the worker, waiting for its one-line answer.
    private struct Forwarded {
        /// Nil once that client is gone (the worker's answer is then only taken).
        let clientFD: FileDescriptor?
        let requestID: UInt32
        let command: CommandSpec
        let timeoutMilliseconds: UInt32
    }

    private let settings: ControlSettings
    private let ownerUID: uid_t
    private let facts: Facts
    private let denied: Set<FeatureGroup>
    /// The console's input pipe and output tee; nil without (no console to attach to).
    private let consoleInput: ConsoleInput?
    private let consoleTee: ConsoleTee?
    /// The connection attached to the console, and the id of its waiting `console.read`.
    private var attachedFD: FileDescriptor?
    private var waitingRead: UInt32?
    private var clients: [Client] = []
    private var forwarded: Forwarded?
    private(set) var state: VMState = .running
    private let startedMilliseconds = bh_monotonic_ms()
    /// When a `stop` gives up on the guest and ends the VM (monotonic ms).
    private(set) var hardStopAt: Int64?
    /// The `stop` timeout that was given, for the exit message.
    private(set) var stopTimeoutMilliseconds: UInt32 = 0

    init(settings: ControlSettings, facts: Facts, console: ConsoleInput? = nil, tee: ConsoleTee? = nil) {
        self.settings = settings
        self.facts = facts
        consoleInput = console
        consoleTee = tee
        ownerUID = geteuid()
        denied = settings.denied.union([.testOnly])
    }

    /// Creates the listening socket at `path` (mode 0666: who may use it is decided by the
    /// peer-credential check on every connection, which answers with a reason) on fd
    /// `listeningFD`. Before sealing.
    static func listen(at path: String) throws {
        let result = bh_control_listen(path, 0o666, backlog, listeningFD)
        guard result == 0 else {
            throw LaunchError.system("control socket \(path): \(String(cString: strerror(-result)))")
        }
    }

    // MARK: polling

    var pollFDs: [pollfd] {
        [pollfd(fd: Self.listeningFD, events: Int16(POLLIN), revents: 0)]
            + clients.map { pollfd(fd: $0.fd.rawValue, events: Int16(POLLIN), revents: 0) }
    }

    /// ppoll's timeout: until the hard stop, or -1.
    var pollTimeoutMilliseconds: Int {
        guard let hardStopAt else { return -1 }
        return Int(max(0, hardStopAt - bh_monotonic_ms()))
    }

    var hardStopIsDue: Bool { hardStopAt.map { bh_monotonic_ms() >= $0 } ?? false }

    /// Serves what ppoll found ready. `statusFD`: the worker's status socket (nil once gone).
    func serve(_ ready: [pollfd], statusFD: FileDescriptor?) {
        for entry in ready where entry.revents != 0 {
            if entry.fd == Self.listeningFD {
                acceptAll()
            } else if let client = clients.first(where: { $0.fd.rawValue == entry.fd }) {
                readClient(client.fd, statusFD: statusFD)
            }
        }
    }

    // MARK: connections

    private func acceptAll() {
        for _ in 0..<(Self.maxClients + 4) {
            let accepted = bh_control_accept(Self.listeningFD)
            guard accepted >= 0 else { return }  // EAGAIN: nothing more waiting
            let fd = FileDescriptor(rawValue: accepted)
            var pid: pid_t = 0
            var uid: uid_t = 0
            var gid: gid_t = 0
            var groups = [gid_t](repeating: 0, count: Int(Self.maxGroups))
            var count: Int32 = 0
            let got = bh_peer_credentials(fd.rawValue, &pid, &uid, &gid, &groups, Self.maxGroups, &count)
            if got != 0 {
                refuse(fd, .peerRefused("cannot read the peer's credentials: \(String(cString: strerror(-got)))"))
                continue
            }
            let inGroup = settings.groupID.map { group in gid == group || groups[..<Int(count)].contains(group) } ?? false
            guard uid == 0 || uid == ownerUID || inGroup else {
                let group = settings.groupName.map { " nor in group \($0)" } ?? " (no --control-group)"
                refuse(fd, .peerRefused("uid \(uid) (pid \(pid)) is not root, the VM's owner (uid \(ownerUID))\(group)"))
                continue
            }
            guard clients.count < Self.maxClients else {
                refuse(fd, .refused("too many control connections (at most \(Self.maxClients))"))
                continue
            }
            clients.append(Client(fd: fd, uid: uid))
        }
    }

    /// One error datagram (request id 0: it answers whatever the client sends first), then close.
    private func refuse(_ fd: FileDescriptor, _ error: ProtocolError) {
        _ = send(error: error, requestID: 0, commandID: 0, to: fd)
        try? fd.close()
    }

    private func drop(_ fd: FileDescriptor) {
        clients.removeAll { $0.fd == fd }
        if attachedFD == fd { detachConsole() }
        if forwarded?.clientFD == fd { forwarded = Forwarded(clientFD: nil, requestID: 0, command: forwarded!.command, timeoutMilliseconds: 0) }
        try? fd.close()
    }

    func closeAll() {
        for client in clients { try? client.fd.close() }
        clients = []
    }

    // MARK: requests

    private func readClient(_ fd: FileDescriptor, statusFD: FileDescriptor?) {
        let socket = SeqPacketSocket(fd)
        for _ in 0..<Self.datagramsPerWake {
            var datagram: ReceivedDatagram
            do { datagram = try socket.receive() } catch {
                if case .socket(_, let errno) = error, errno == .resourceTemporarilyUnavailable { return }
                return drop(fd)
            }
            if datagram.isHangUp {
                datagram.closeFDs()
                return drop(fd)
            }
            switch RequestCheck.check(&datagram, served: .control, denied: denied) {
            case .error(let error, let requestID, let commandID, let endsConnection):
                guard send(error: error, requestID: requestID, commandID: commandID, to: fd), !endsConnection else { return drop(fd) }
            case .request(let request):
                for descriptor in request.fds { try? descriptor.close() }  // no control command takes fds
                guard answer(request, from: fd, statusFD: statusFD) else { return drop(fd) }
            }
        }
    }

    /// Answers (or forwards) one checked request; false when the client must be dropped.
    private func answer(_ request: IncomingRequest, from fd: FileDescriptor, statusFD: FileDescriptor?) -> Bool {
        let command = request.command
        func reply<Message: BodyCodable>(_ message: Message) -> Bool {
            send(reply: message.body, for: command, requestID: request.requestID, to: fd)
        }
        func fail(_ error: ProtocolError) -> Bool {
            send(error: error, requestID: request.requestID, commandID: command.id, to: fd)
        }
        switch command.id {
        case CommandCatalog.hello.id:
            guard let hello = try? request.decode(HelloRequest.self), hello.version == UInt32(ProtocolLimits.version) else {
                return fail(.unsupportedVersion(0))
            }
            return reply(HelloReply(helper: Self.helloName))
        case CommandCatalog.info.id:
            return reply(info)
        case CommandCatalog.metrics.id, CommandCatalog.pause.id, CommandCatalog.resume.id, CommandCatalog.stop.id,
            CommandCatalog.reset.id:
            var timeout: UInt32 = 0
            if command.id == CommandCatalog.stop.id {
                guard let stop = try? request.decode(StopRequest.self) else { return fail(.malformedBody("timeout_ms")) }
                timeout = stop.timeoutMilliseconds
            }
            if let conflict = conflict(for: command) { return fail(.stateConflict(conflict)) }
            guard let statusFD else { return fail(.stateConflict("the worker has ended")) }
            let message =
                switch command.id {
                case CommandCatalog.metrics.id: "metrics"
                case CommandCatalog.pause.id: "pause"
                case CommandCatalog.resume.id: "resume"
                case CommandCatalog.reset.id: "reset"
                default: "guest-stop"
                }
            guard message.withCString({ write(statusFD.rawValue, $0, strlen($0)) }) > 0 else {
                return fail(.stateConflict("the worker does not answer"))
            }
            forwarded = Forwarded(clientFD: fd, requestID: request.requestID, command: command, timeoutMilliseconds: timeout)
            return true
        case CommandCatalog.console.id, CommandCatalog.consoleRead.id, CommandCatalog.consoleWrite.id:
            return answerConsole(request, from: fd)
        default:
            // A catalog command this parent has no handler for yet: refused by name, never silently.
            return fail(.refused("\(command.name) is not implemented by this VM"))
        }
    }

    // MARK: the console

    /// `console`, `console.read` and `console.write`; false when the client must be dropped.
    private func answerConsole(_ request: IncomingRequest, from fd: FileDescriptor) -> Bool {
        let command = request.command
        func fail(_ error: ProtocolError) -> Bool {
            send(error: error, requestID: request.requestID, commandID: command.id, to: fd)
        }
        guard let consoleInput, let consoleTee else { return fail(.refused("this VM has no console to attach to")) }
        if command.id == CommandCatalog.console.id {
            if attachedFD == fd { return fail(.stateConflict("this connection is attached already")) }
            if attachedFD != nil { return fail(.stateConflict("another client is attached to the console (one at a time)")) }
            if state == .stopping { return fail(.stateConflict("the VM is stopping")) }
            attachedFD = fd
            consoleTee.attach()
            return send(reply: StateReply(state: state).body, for: command, requestID: request.requestID, to: fd)
        }
        guard attachedFD == fd else { return fail(.stateConflict("this connection is not attached to the console (send console first)")) }
        if command.id == CommandCatalog.consoleRead.id {
            guard waitingRead == nil else { return fail(.stateConflict("a console.read is waiting already (one at a time)")) }
            waitingRead = request.requestID
            return answerWaitingRead()
        }
        guard let write = try? request.decode(ConsoleWriteRequest.self) else { return fail(.malformedBody("input")) }
        let taken = consoleInput.feed(write.input)
        return send(reply: ConsoleWriteReply(taken: UInt32(taken)).body, for: command, requestID: request.requestID, to: fd)
    }

    /// The tee may have read output: the attached client's waiting read gets it.
    func consoleOutputArrived() {
        guard let fd = attachedFD, waitingRead != nil, !answerWaitingRead() else { return }
        drop(fd)
    }

    /// Sends what the tee holds as the answer to the waiting read, if any; false on a failed send.
    private func answerWaitingRead() -> Bool {
        guard let fd = attachedFD, let requestID = waitingRead, let consoleTee, !consoleTee.buffer.isEmpty else { return true }
        waitingRead = nil
        let reply = ConsoleOutputReply(output: consoleTee.take())
        return send(reply: reply.body, for: CommandCatalog.consoleRead, requestID: requestID, to: fd)
    }

    private func detachConsole() {
        attachedFD = nil
        waitingRead = nil
        consoleTee?.detach()
    }

    /// Why `command` cannot run now, or nil.
    private func conflict(for command: CommandSpec) -> String? {
        if forwarded != nil { return "another command is waiting for the worker" }
        switch (command.id, state) {
        case (CommandCatalog.metrics.id, _): return nil
        case (_, .stopping): return "the VM is stopping"
        case (CommandCatalog.pause.id, .paused): return "the VM is already paused"
        case (CommandCatalog.resume.id, .running): return "the VM is running, not paused"
        default: return nil
        }
    }

    private var info: InfoReply {
        InfoReply(
            state: state, vcpus: facts.vcpus, memoryMiB: facts.memoryMiB, devices: facts.devices,
            uptimeMilliseconds: UInt64(max(0, bh_monotonic_ms() - startedMilliseconds)), pids: facts.pids)
    }

    // MARK: the worker's answers

    /// A line from the worker's status socket other than `ready`/`poweroff`. The worker is
    /// not trusted: an answer that does not fit the forwarded request fails that request.
    func workerAnswered(_ line: Substring) {
        guard let pending = forwarded else { return }
        forwarded = nil
        if pending.command.id == CommandCatalog.metrics.id { return answerMetrics(line, pending) }
        let expected: (answer: [Substring], state: VMState) =
            switch pending.command.id {
            case CommandCatalog.pause.id: (["paused"], .paused)
            case CommandCatalog.resume.id: (["resumed"], .running)
            case CommandCatalog.reset.id: (["reset"], .running)
            default: (["guest-stop asked", "guest-stop unsupported"], .stopping)
            }
        if pending.command.id == CommandCatalog.reset.id, line == "reset unsupported" {
            if let client = pending.clientFD {
                _ = send(
                    error: .refused("reset restarts only the built-in test guest (a Linux guest's kernel is not kept)"),
                    requestID: pending.requestID, commandID: pending.command.id, to: client)
            }
            return
        }
        guard expected.answer.contains(line) else {
            if let client = pending.clientFD {
                _ = send(
                    error: .internalError("the worker answered \"\(line.prefix(64))\" to \(pending.command.name)"),
                    requestID: pending.requestID, commandID: pending.command.id, to: client)
            }
            return
        }
        state = expected.state
        if pending.command.id == CommandCatalog.stop.id {
            stopTimeoutMilliseconds = pending.timeoutMilliseconds
            // A guest that cannot be asked gets no grace: the timeout only waits for a guest that polls.
            let grace = line == "guest-stop asked" ? Int64(pending.timeoutMilliseconds) : 0
            hardStopAt = bh_monotonic_ms() + grace
        }
        if let client = pending.clientFD, !send(reply: StateReply(state: state).body, for: pending.command, requestID: pending.requestID, to: client) {
            drop(client)
        }
    }

    /// The worker's `metrics NAME=VALUE …` line, checked entry by entry (MetricsReply.fromWorkerLine).
    private func answerMetrics(_ line: Substring, _ pending: Forwarded) {
        guard let client = pending.clientFD else { return }
        let metrics: MetricsReply
        do { metrics = try MetricsReply.fromWorkerLine(line) } catch {
            _ = send(
                error: .internalError("the worker answered metrics with \(error)"), requestID: pending.requestID,
                commandID: pending.command.id, to: client)
            return
        }
        if !send(reply: metrics.body, for: pending.command, requestID: pending.requestID, to: client) {
            drop(client)
        }
    }

    // MARK: sending

    /// Sends a reply after checking it against the catalog (as RequestServer does).
    private func send(reply body: [UInt8], for command: CommandSpec, requestID: UInt32, to fd: FileDescriptor) -> Bool {
        guard body.count <= ProtocolLimits.maxBodySize, (try? BodyReader.validate(body, against: command.reply)) != nil else {
            return send(error: .internalError("\(command.name) reply does not match its shape"), requestID: requestID, commandID: command.id, to: fd)
        }
        return transmit(MessageHeader.datagram(kind: .reply, requestID: requestID, commandID: command.id, body: body, fdCount: 0), to: fd)
    }

    private func send(error: ProtocolError, requestID: UInt32, commandID: UInt16, to fd: FileDescriptor) -> Bool {
        transmit(
            MessageHeader.datagram(kind: .error, requestID: requestID, commandID: commandID, body: ErrorReply(error).body, fdCount: 0),
            to: fd)
    }

    /// sendmsg(MSG_NOSIGNAL) on the non-blocking connection: EAGAIN (a client that does not
    /// read) or any other failure is false, and the caller drops the client.
    private func transmit(_ datagram: [UInt8], to fd: FileDescriptor) -> Bool {
        datagram.withUnsafeBytes { bh_send_with_fds(fd.rawValue, $0.baseAddress, $0.count, nil, 0) } == datagram.count
    }
}
