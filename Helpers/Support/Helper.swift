import BulkheadProtocol
import CShim
import Glibc
import Sandbox
import SystemPackage

/// The start-up and serve loop every helper runs, in the order DESIGN.md §2 fixes:
/// 1. PR_SET_PDEATHSIG(SIGKILL): the helper never outlives the process that started it;
/// 2. parse the command line (pure; no fd touched);
/// 3. close every fd but 0, 1, 2 and the socket (`closeInheritedFDs`), then check the
///    socket is an AF_UNIX SOCK_SEQPACKET socket;
/// 4. declare: the helper's own HostAccess checks (files, taps, hooks), unconfined;
/// 5. no-new-privileges and the role's seccomp filter — before a single request is read;
/// 6. `RequestServer.serve` until the peer hangs up.
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
    public func run(declare: (HelperArguments) throws -> Handler) -> Never {
        if bh_set_parent_death_signal(SIGKILL) < 0 {
            HelperLog.fail(program, .confinementFailed, "prctl(PR_SET_PDEATHSIG) failed")
        }
        let arguments: HelperArguments
        do {
            arguments = try HelperArguments(
                HelperArguments.commandLine(), options: options, single: singleOptions)
        } catch {
            HelperLog.fail(program, .badCommandLine, "bad command line: \(error)")
        }
        if let problem = Self.closeInheritedFDs(keeping: arguments.socketFD) {
            HelperLog.fail(program, .confinementFailed, problem)
        }
        let socket: SeqPacketSocket
        do { socket = try SeqPacketSocket(validating: FileDescriptor(rawValue: arguments.socketFD)) } catch {
            HelperLog.fail(
                program, .badCommandLine,
                "bad command line: --socket-fd \(arguments.socketFD) is not an AF_UNIX SOCK_SEQPACKET socket (\(error))")
        }
        let handler: Handler
        do { handler = try declare(arguments) } catch {
            HelperLog.fail(program, .badCommandLine, "bad declaration: \(error)")
        }
        if arguments.mode.isInsecure {
            HelperLog.line(program, "warning: --seccomp \(arguments.mode.rawValue) leaves this helper unconfined")
        }
        do { try Confinement.confineProcess(as: role, mode: arguments.mode, reportTo: .standardError) } catch {
            HelperLog.fail(program, .confinementFailed, "cannot confine as \(role.rawValue): \(error)")
        }

        let server = RequestServer(socket: socket, helper: kind, name: program)
        let program = self.program
        server.onError = { error in HelperLog.line(program, "error reply: \(error)") }
        switch server.serve(handler) {
        case .peerHungUp:
            exit(HelperExit.peerHungUp.rawValue)
        case .versionMismatch(let version):
            HelperLog.fail(program, .versionMismatch, "the peer speaks protocol version \(version); ending")
        case .socketError(let error):
            HelperLog.fail(program, .socketFailed, "socket failed: \(error)")
        }
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
