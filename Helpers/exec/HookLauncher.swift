import BulkheadProtocol
import CShim
import Glibc
import HelperSupport
import HostAccess
import Sandbox
import SystemPackage

/// The exec helper's second process. Seccomp filters stack and a child inherits its
/// parent's, so a hook can never be given more than the process that forks it: the server
/// therefore forks this launcher before it confines itself. The launcher loads the wider
/// `exec-hook` filter, which the hooks inherit, and the server then loads its own narrow
/// `exec` filter (no fork, no exec, no open). The server passes only requests it has
/// already checked over a SOCK_SEQPACKET socketpair; the launcher checks them again
/// (`DeclaredHooks.run`), runs the hook (`HookRunner`: own process group, clean
/// environment, time limit, output cap) and writes back one result datagram.
///
/// Result datagram: byte 0 is 0 and the rest an `exec.run-hook` reply body, or byte 0 is 1
/// and the rest the refusal's text. The launcher dies with the server (PR_SET_PDEATHSIG),
/// and each hook with the launcher.
final class HookLauncher: @unchecked Sendable {
    // @unchecked: the helper is single-threaded; `hooks` is set once by `declare`, then read.
    var hooks: DeclaredHooks?
    private var socket: Int32 = -1

    /// A request body or a result: a reply's 4096 output bytes and its fields fit easily.
    static let datagramLimit = ProtocolLimits.maxMessageSize

    /// BULKHEAD_VM as `bulkhead run` set it for this helper (nil under a shared service).
    static func vmName() -> String? { getenv("BULKHEAD_VM").map { String(cString: $0) } }

    /// Forks the launcher (the server keeps one end of the socketpair). nil, or the problem.
    func start(mode: FilterMode) -> String? {
        guard let hooks else { return "no hooks declared before the launcher started" }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            return "socketpair for the hook launcher: \(Errno(rawValue: errno))"
        }
        let server = getpid()
        let pid = fork()
        if pid < 0 { return "fork of the hook launcher: \(Errno(rawValue: errno))" }
        if pid == 0 {
            close(pair[0])
            Self.serve(on: pair[1], server: server, hooks: hooks, mode: mode)
        }
        close(pair[1])
        socket = pair[0]
        // One byte once the launcher is confined: the server serves nothing before that.
        var ready: UInt8 = 0
        var count = -1
        repeat { count = read(socket, &ready, 1) } while count < 0 && errno == EINTR
        return count == 1 ? nil : "the hook launcher (pid \(pid)) did not confine itself"
    }

    /// The server's side: one checked request out, its result back.
    func run(_ request: ExecRunHookRequest) throws -> ExecRunHookReply {
        let body = request.body
        var sent = -1
        repeat { sent = write(socket, body, body.count) } while sent < 0 && errno == EINTR
        var buffer = [UInt8](repeating: 0, count: Self.datagramLimit)
        var count = -1
        if sent == body.count {
            repeat { count = read(socket, &buffer, buffer.count) } while count < 0 && errno == EINTR
        }
        guard count > 0 else { throw LauncherGone() }
        let result = Array(buffer[1..<count])
        guard buffer[0] == 0 else { throw Refusal(String(decoding: result, as: UTF8.self)) }
        return try ExecRunHookReply.decode(result)
    }

    struct LauncherGone: Error, CustomStringConvertible {
        var description: String { "the hook launcher ended" }
    }

    /// The launcher's whole life: confine, then one result per request until the server
    /// hangs up (or dies: PR_SET_PDEATHSIG).
    private static func serve(on fd: Int32, server: pid_t, hooks: DeclaredHooks, mode: FilterMode) -> Never {
        if bh_set_parent_death_signal(SIGKILL) < 0 || getppid() != server { _exit(HelperExit.confinementFailed.rawValue) }
        // fd 3 (the peer's socket, or the listening one) becomes the socketpair end; nothing
        // else the server holds (notify and journal sockets) stays open here.
        guard dup2(fd, 3) == 3, bh_close_from(4) >= 0 else { _exit(HelperExit.confinementFailed.rawValue) }
        do {
            try HookRunner.adoptOrphanedDescendants()
            try Confinement.confineProcess(as: .execHook, mode: mode, reportTo: .standardError)
        } catch {
            _exit(HelperExit.confinementFailed.rawValue)
        }
        var ready: UInt8 = 1
        guard write(3, &ready, 1) == 1 else { _exit(HelperExit.socketFailed.rawValue) }
        var buffer = [UInt8](repeating: 0, count: datagramLimit)
        while true {
            let count = read(3, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { _exit(HelperExit.peerHungUp.rawValue) }
            let result = launch(Array(buffer[..<count]), hooks: hooks)
            var written = -1
            repeat { written = write(3, result, result.count) } while written < 0 && errno == EINTR
            if written != result.count { _exit(HelperExit.socketFailed.rawValue) }
        }
    }

    private static func launch(_ body: [UInt8], hooks: DeclaredHooks) -> [UInt8] {
        let request: ExecRunHookRequest
        do { request = try ExecRunHookRequest.decode(body) } catch {
            return [1] + Array("the server passed an undecodable request: \(error)".utf8)
        }
        let result: HookResult
        do throws(HookRefusal) { result = try hooks.run(name: request.hook, extraArguments: request.arguments) } catch {
            return [1] + Array(error.description.utf8)
        }
        let (status, signal): (Int32, Int32)
        switch result.termination {
        case .exited(let code): (status, signal) = (code, 0)
        case .signaled(let number): (status, signal) = (-1, number)
        }
        return [0] + ExecRunHookReply.capping(
            exitStatus: status, signal: signal, output: result.output, truncated: result.truncated,
            timedOut: result.timedOut
        ).body
    }
}
