import ArgumentParser
import BulkheadProtocol
import CParent
import Glibc
import JSONText
import RunSpecs
import SystemPackage
import Vocabulary

/// `bulkhead ctl NAME COMMAND [--format json]`: one command on a running VM's control socket
/// (ControlServer), human output by default, JSON for programs.
struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Operate a running VM through its control socket: info, metrics, pause, resume, stop, reset.",
        discussion: """
            Exit status: 0 done; 64 usage; 66 no running VM of that name (or it has no control socket); \
            67 refused by peer credentials (not root, the VM's owner nor in its --control-group); \
            70 a protocol or VM error; 75 the VM's state does not allow it (e.g. resume while running); \
            77 refused by feature group (--deny-control-feature).
            """)

    enum Status {
        static let noSuchVM: Int32 = 66
        static let peerRefused: Int32 = 67
        static let failed: Int32 = 70
        static let stateConflict: Int32 = 75
        static let groupDenied: Int32 = 77
    }

    @Argument(help: "The VM's name (bulkhead run --name).")
    var name: String

    @Argument(help: "info, metrics, pause, resume, stop or reset.")
    var command: String

    @Option(help: "text or json.")
    var format: CatalogDocument.Format = .text

    @Option(help: "stop: how long the guest may take to power off before the VM is ended, in ms (0...600000).")
    var timeoutMs: UInt32 = 5000

    func run() throws {
        guard Names.isValidVMName(name) else { throw ValidationError("\(name): not a VM name") }
        // The console's commands belong to an attached session: `bulkhead console NAME`.
        guard let spec = CommandCatalog.command(named: command), spec.helper == .control, !spec.groups.contains(.console) else {
            let names = CommandCatalog.all.filter { $0.helper == .control && !$0.groups.contains(.console) }.map(\.name)
            throw ValidationError(
                "\(command): not a control command for ctl; commands are \(names.joined(separator: ", ")) (the console: bulkhead console NAME)")
        }
        guard timeoutMs <= 600_000 else { throw ValidationError("--timeout-ms: at most 600000") }
        let socket = Self.connect(to: name)
        defer { socket.close() }
        // pause waits for every vCPU; a stop's reply comes once the worker has asked the guest.
        try? socket.setReceiveTimeout(microseconds: 10_000_000)
        let client = RequestClient(socket: socket)
        Self.call(socket, command) { () throws(ProtocolError) in _ = try client.hello() }
        let body = spec.id == CommandCatalog.stop.id ? StopRequest(timeoutMilliseconds: timeoutMs).body : []
        let reply = Self.call(socket, command) { () throws(ProtocolError) in try client.call(command: spec, body: body).body }
        print(render(spec, reply), terminator: "")
        if spec.id == CommandCatalog.stop.id { waitForEnd(socket) }
    }

    /// The VM's control socket, connected; 66 or 67 (printed) when there is none or it refuses.
    static func connect(to name: String) -> SeqPacketSocket {
        let path = "\(VMRegistry.root)/\(name)/\(ControlServer.socketName)"
        let fd = bh_control_connect(path)
        guard fd >= 0 else {
            if fd == -EACCES || fd == -EPERM { fail(Status.peerRefused, "\(path): \(String(cString: strerror(-fd)))") }
            fail(Status.noSuchVM, "no running VM named \(name) with a control socket (\(path): \(String(cString: strerror(-fd))))")
        }
        return SeqPacketSocket(FileDescriptor(rawValue: fd))
    }

    /// Runs one exchange; any failure ends the process with its documented status.
    @discardableResult
    static func call<T>(_ socket: SeqPacketSocket, _ command: String, _ body: () throws(ProtocolError) -> T) -> T {
        do { return try body() } catch {
            var error = error
            // A refused peer is sent one error and closed; a send that raced the close
            // finds the socket shut, and the error still waits to be read.
            if Self.isConnectionLoss(error), let pending = Self.pendingError(socket) { error = pending }
            Glibc.exit(status(of: error, command: command))
        }
    }

    /// Prints why `command` failed and returns the documented exit status for it.
    static func status(of error: ProtocolError, command: String) -> Int32 {
        if case .remote(let code, let message) = error {
            switch code {
            case ProtocolError.peerRefused("").code: return printed(Status.peerRefused, message)
            case ProtocolError.commandDenied(command: "", group: "").code: return printed(Status.groupDenied, message)
            case ProtocolError.stateConflict("").code: return printed(Status.stateConflict, message)
            default: return printed(Status.failed, "\(command): \(ProtocolError.codeNames[code] ?? "error \(code)"): \(message)")
            }
        }
        return printed(Status.failed, "\(command): \(error)")
    }

    private static func printed(_ status: Int32, _ message: String) -> Int32 {
        StandardError.line(message)
        return status
    }

    private static func isConnectionLoss(_ error: ProtocolError) -> Bool {
        if error == .peerHungUp { return true }
        if case .socket(_, let errno) = error { return errno == .brokenPipe || errno == .connectionReset }
        return false
    }

    /// The error datagram a server sent before it closed, if one is still queued. A close
    /// that left our request unread reports ECONNRESET once before the queued datagram.
    private static func pendingError(_ socket: SeqPacketSocket) -> ProtocolError? {
        for _ in 0..<3 {
            guard var datagram = try? socket.receive() else { continue }
            datagram.closeFDs()
            guard !datagram.isHangUp, let header = try? MessageHeader.decode(datagram.bytes), header.kind == .error,
                let reply = try? ErrorReply.decode(Array(datagram.bytes[ProtocolLimits.headerSize...]))
            else { return nil }
            return .remote(code: reply.code, message: reply.message)
        }
        return nil
    }

    /// After `stop`: the parent closes the socket when the VM has ended.
    private func waitForEnd(_ socket: SeqPacketSocket) {
        try? socket.setReceiveTimeout(microseconds: (Int(timeoutMs) + 10_000) * 1000)
        while true {
            guard let datagram = try? socket.receive() else { fail(Status.failed, "the VM did not end within \(timeoutMs) ms + 10 s") }
            if datagram.isHangUp { break }
        }
        if format == .text { print("stopped") }
    }

    private func render(_ spec: CommandSpec, _ body: [UInt8]) -> String {
        do {
            switch spec.id {
            case CommandCatalog.info.id:
                let info = try InfoReply.decode(body)
                if format == .json {
                    return JSONValue.object([
                        ("state", .string(info.state.name)), ("vcpus", .integer(Int64(info.vcpus))),
                        ("memory_mib", .integer(Int64(info.memoryMiB))), ("devices", .array(info.devices.map { .string($0) })),
                        ("uptime_ms", .integer(Int64(clamping: info.uptimeMilliseconds))),
                        ("pids", .object(info.pids.map { Self.pair($0) })),
                    ]).rendered() + "\n"
                }
                var text = "state: \(info.state.name)\nvcpus: \(info.vcpus)\nmemory: \(info.memoryMiB) MiB\n"
                text += "uptime: \(Self.seconds(info.uptimeMilliseconds)) s\n"
                text += "devices:\n" + info.devices.map { "  \($0)\n" }.joined()
                text += "processes:\n" + info.pids.map { "  \($0)\n" }.joined()
                return text
            case CommandCatalog.metrics.id:
                let metrics = try MetricsReply.decode(body)
                if format == .json {
                    return JSONValue.object(metrics.counters.map { ($0.name, .integer(Int64(clamping: $0.value))) }).rendered() + "\n"
                }
                return metrics.counters.map { "\($0.name) \($0.value)\n" }.joined()
            default:
                let reply = try StateReply.decode(body)
                if format == .json { return JSONValue.object([("state", .string(reply.state.name))]).rendered() + "\n" }
                return "\(reply.state.name)\n"
            }
        } catch {
            fail(Status.failed, "\(spec.name): \(error)")
        }
    }

    /// `ROLE PID` as a JSON member.
    private static func pair(_ entry: String) -> (String, JSONValue) {
        let parts = entry.split(separator: " ")
        guard parts.count == 2, let pid = Int64(parts[1]) else { return (entry, .null) }
        return (String(parts[0]), .integer(pid))
    }

    private static func seconds(_ milliseconds: UInt64) -> String {
        "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - String(milliseconds % 1000).count))\(milliseconds % 1000)"
    }

    private func fail(_ status: Int32, _ message: String) -> Never { Self.fail(status, message) }

    private static func fail(_ status: Int32, _ message: String) -> Never {
        StandardError.line(message)
        Glibc.exit(status)
    }
}
