import BulkheadProtocol
import CHelper
import CShim
import Glibc
import JournalLog
import Sandbox
import SystemPackage
import Vocabulary

/// The start-up and serve loop every helper runs, in the order DESIGN.md §2 fixes:
/// 1. PR_SET_PDEATHSIG(SIGKILL): the helper never outlives the process that started it, where
///    that process may signal it (else the serve loop ends at the socket's end of file);
/// 2. parse the command line (pure; no fd touched);
/// 3. close every fd but 0, 1, 2 and the socket (`closeInheritedFDs`), then check the
///    socket is an AF_UNIX SOCK_SEQPACKET socket;
/// 4. declare: the helper's own HostAccess checks (files, taps, hooks), unconfined;
/// 5. HelperDefense: the uid change, capabilities and limits (DESIGN.md §7);
/// 6. no-new-privileges and the role's seccomp filter — before a single request is read;
/// 7. `RequestServer.serve` until the peer hangs up; with `--listen`, one session per
///    connection accepted on the socket-activated listening socket, for ever.
/// Under a service manager (`NOTIFY_SOCKET`), READY=1 follows step 6, STATUS= tracks the
/// sessions, STOPPING=1 precedes the end (DESIGN.md §8).
/// Each failure ends the helper with one stderr line and a `HelperExit` status.
public struct Helper: Sendable {
    /// The name in log lines and in the `hello` reply, e.g. `bulkhead-block`.
    public let program: String
    public let role: Role
    public let kind: HelperKind
    /// The helper's own options (each takes one value), and those allowed only once.
    public let options: Set<String>
    public let singleOptions: Set<String>

    public init(program: String, role: Role, kind: HelperKind, options: Set<String>, singleOptions: Set<String> = []) {
        self.program = program
        self.role = role
        self.kind = kind
        self.options = options
        self.singleOptions = singleOptions
    }

    /// Serves one command's requests; throw `Refusal` (or any error) for an error reply.
    public typealias Handler = (IncomingRequest) throws -> Reply

    /// Runs the helper to its end. `declare` validates the helper's declarations from the
    /// command line (before confinement) and returns the request handler; any error it
    /// throws is a bad declaration: its description goes to stderr and the status is 64.
    /// `beforeConfinement` runs after the identity change and before the filter (step 5½):
    /// the exec helper forks its hook launcher there, so the launcher gets its own, wider
    /// filter instead of inheriting the server's. It returns a problem (exit 71) or nil.
    public func run(
        beforeConfinement: (FilterMode) -> String? = { _ in nil }, declare: (HelperArguments) throws -> Handler
    ) -> Never {
        if bh_set_parent_death_signal(SIGKILL) < 0 {
            HelperLog.fail(program, .confinementFailed, "prctl(PR_SET_PDEATHSIG) failed")
        }
        // A parent that died leaves this helper's stderr pipe without a reader: its last log
        // lines fail with EPIPE instead of killing it, and it exits at its socket's end of
        // file. Hooks start with every signal at its default again (become_hook, CHelper).
        signal(SIGPIPE, SIG_IGN)
        let arguments: HelperArguments
        do {
            let commandLine = HelperArguments.commandLine()
            let parsed = try HelperArguments(commandLine, options: options, single: singleOptions)
            if let path = parsed.configPath {
                // The file's declarations join the command line's and are checked the same way.
                let declared = try HelperConfigFile.read(path: path, allowed: options)
                arguments = try HelperArguments(commandLine + declared, options: options, single: singleOptions)
            } else {
                arguments = parsed
            }
        } catch {
            HelperLog.fail(program, .badCommandLine, "bad command line: \(error)")
        }
        if arguments.listens, let problem = SocketActivation.claimListeningSocket() {
            HelperLog.fail(program, .badCommandLine, "bad command line: \(problem)")
        }
        if let problem = Self.closeInheritedFDs(keeping: arguments.socketFD) {
            HelperLog.fail(program, .confinementFailed, problem)
        }
        HelperLog.useJournalIfReachable(
            LogIdentity(process: program, role: role.rawValue, vm: getenv("BULKHEAD_VM").map { String(cString: $0) }),
            first: "starting; confining as \(role.rawValue)\(arguments.listens ? ", listening" : "")")
        let socket: SeqPacketSocket
        do { socket = try SeqPacketSocket(validating: FileDescriptor(rawValue: arguments.socketFD)) } catch {
            HelperLog.fail(
                program, .badCommandLine,
                "bad command line: \(arguments.listens ? "--listen: fd" : "--socket-fd") \(arguments.socketFD) is not an AF_UNIX SOCK_SEQPACKET socket (\(error))")
        }
        if arguments.listens && bh_is_listening(arguments.socketFD) != 1 {
            HelperLog.fail(program, .badCommandLine, "bad command line: --listen: fd \(arguments.socketFD) is not listening")
        }
        // Opened before confinement: afterwards no socket may be created (ServiceNotifier).
        let notifier: ServiceNotifier?
        do { notifier = try ServiceNotifier.fromEnvironment() } catch {
            HelperLog.fail(program, .confinementFailed, "\(error)")
        }
        if notifier != nil || arguments.listens, let problem = ServiceStop.exitOnTerminate(notifying: notifier) {
            HelperLog.fail(program, .confinementFailed, "sigaction(SIGTERM) failed: \(problem)")
        }
        let handler: Handler
        do { handler = try declare(arguments) } catch {
            HelperLog.fail(program, .badCommandLine, "bad declaration: \(error)")
        }
        if arguments.mode.isInsecure {
            HelperLog.line(program, "warning: --seccomp \(arguments.mode.rawValue) leaves this helper unconfined")
        }
        if let problem = HelperDefense.apply(role: role) {  // uid, capabilities, limits (DESIGN.md §7)
            HelperLog.fail(program, .confinementFailed, problem)
        }
        if let problem = beforeConfinement(arguments.mode) { HelperLog.fail(program, .confinementFailed, problem) }
        do { try Confinement.confineProcess(as: role, mode: arguments.mode, reportTo: .standardError) } catch {
            HelperLog.fail(program, .confinementFailed, "cannot confine as \(role.rawValue): \(error)")
        }

        var status = ServiceStatus(notifier: notifier, listens: arguments.listens)
        notifier?.send("READY=1\nSTATUS=\(status.text)")
        let counted: Handler = { request in
            status.requests += 1
            status.report()
            return try handler(request)
        }
        guard arguments.listens else {
            let end = serve(on: socket, counted)
            notifier?.send("STOPPING=1")
            switch end {
            case .peerHungUp:
                exit(HelperExit.peerHungUp.rawValue)
            case .versionMismatch(let version):
                HelperLog.fail(program, .versionMismatch, "the peer speaks protocol version \(version); ending")
            case .socketError(let error):
                HelperLog.fail(program, .socketFailed, "socket failed: \(error)")
            }
        }
        // Socket activation: each accepted connection is one VM's session, served to its
        // hang-up; a bad session ends that session only.
        while true {
            let accepted = bh_accept_connection(socket.fileDescriptor.rawValue)
            guard accepted >= 0 else {
                notifier?.send("STOPPING=1")
                HelperLog.fail(program, .socketFailed, "accept4 failed: \(Errno(rawValue: -accepted))")
            }
            let connection = SeqPacketSocket(FileDescriptor(rawValue: accepted))
            status.connections += 1
            status.open = true
            status.report()
            switch serve(on: connection, counted) {
            case .peerHungUp: break
            case .versionMismatch(let version):
                HelperLog.line(program, "session \(status.connections): the peer speaks protocol version \(version); closed")
            case .socketError(let error):
                HelperLog.line(program, "session \(status.connections): socket failed: \(error); closed")
            }
            connection.close()
            status.open = false
            status.report()
        }
    }

    private func serve(on socket: SeqPacketSocket, _ handler: Handler) -> RequestServer.End {
        let server = RequestServer(socket: socket, helper: kind, name: program)
        let program = self.program
        server.onError = { error in HelperLog.line(program, "error reply: \(error)") }
        return server.serve(handler)
    }

    /// Closes every fd except 0, 1, 2 and `socketFD`: close(2) on each of 3..<socketFD
    /// (at most `HelperArguments.socketFDRange.upperBound` calls, nearly all EBADF), then
    /// close_range(socketFD + 1, ~0U). Returns a problem in words, or nil.
    static func closeInheritedFDs(keeping socketFD: Int32) -> String? {
        var fd: Int32 = 3
        while fd < socketFD {
            _ = close(fd)
            fd += 1
        }
        let result = bh_close_from(socketFD + 1)
        return result < 0 ? "close_range(\(socketFD + 1), ~0U) failed: \(Errno(rawValue: -result))" : nil
    }
}

/// What STATUS= says while a helper serves: sessions and requests so far.
struct ServiceStatus {
    let notifier: ServiceNotifier?
    let listens: Bool
    var connections = 0
    var requests = 0
    var open = false

    var text: String {
        let served = "\(requests) request\(requests == 1 ? "" : "s")"
        guard listens else { return "serving, \(served)" }
        let state = open ? "serving session \(connections)" : "waiting for a connection"
        return "\(state), \(connections) session\(connections == 1 ? "" : "s"), \(served)"
    }

    func report() { notifier?.send("STATUS=\(text)") }
}
