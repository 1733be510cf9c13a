import ArgumentParser
import BulkheadProtocol
import CParent
import Glibc
import SystemPackage
import Vocabulary

/// `bulkhead console NAME`: attaches to a running VM's serial console over its control socket
/// (ControlServer: `console`, then `console.read` and `console.write`). One client at a time;
/// detaching leaves the VM running.
/// - On a terminal: raw mode (TerminalMode, given back on every way out), keys go to the
///   guest as typed, Ctrl-] q detaches (ConsoleEscape; Ctrl-] Ctrl-] sends one Ctrl-]).
/// - On a pipe or file: its bytes are sent as the guest's input pipe takes them (never
///   dropped: what is not taken is sent again 20 ms later); at its end, once all of it was
///   taken, output is still shown until the guest has written nothing for `--settle-ms`
///   (at most 10 s after the end of input), then it detaches. /dev/null or a closed stdin
///   sends nothing and detaches the same way.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Attach to a running VM's serial console through its control socket (Ctrl-] q detaches).",
        discussion: """
            Exit status: 0 detached (the VM keeps running) or the VM ended; 64 usage; 66 no running VM of that \
            name (or it has no control socket); 67 refused by peer credentials; 70 a protocol or VM error; \
            75 the VM's state does not allow it (another client is attached, or the VM is stopping); \
            77 refused by feature group (--deny-control-feature console).
            """)

    @Argument(help: "The VM's name (bulkhead run --name).")
    var name: String

    @Option(help: "With a piped stdin: after its end, detach once the guest has written nothing for this long, in ms (0...10000).")
    var settleMs = 500

    static let retryMilliseconds = 20
    static let maxLingerMilliseconds: Int64 = 10_000

    func run() throws {
        guard Names.isValidVMName(name) else { throw ValidationError("\(name): not a VM name") }
        guard (0...10_000).contains(settleMs) else { throw ValidationError("--settle-ms: 0...10000") }
        signal(SIGPIPE, SIG_IGN)
        let socket = CtlCommand.connect(to: name)
        defer { socket.close() }
        try? socket.setReceiveTimeout(microseconds: 10_000_000)
        let client = RequestClient(socket: socket)
        CtlCommand.call(socket, "console") { () throws(ProtocolError) in _ = try client.hello() }
        CtlCommand.call(socket, "console") { () throws(ProtocolError) in
            _ = try client.call(command: CommandCatalog.console, body: [])
        }
        try? socket.setReceiveTimeout(microseconds: 0)
        let source = ConsoleInput.Source.standardInput()
        let terminal = source == .terminal ? TerminalMode.enterRaw() : nil
        var session = Session(socket: socket, client: client, terminal: terminal != nil, stdinOpen: source != nil, settleMs: settleMs)
        let status = session.run()
        terminal?.restore()
        if let status { Glibc.exit(status) }
    }

    /// One attachment: stdin to `console.write`, `console.read` answers to stdout.
    private struct Session {
        let socket: SeqPacketSocket
        let client: RequestClient
        let terminal: Bool
        var stdinOpen: Bool
        let settleMs: Int
        var escape = ConsoleEscape()
        /// Input not yet taken by the guest's pipe.
        var pending: [UInt8] = []
        var writeID: UInt32?
        var readID: UInt32 = 0
        var retryAt: Int64?
        var endOfInputAt: Int64?
        var lastOutputAt = bh_monotonic_ms()

        init(socket: SeqPacketSocket, client: RequestClient, terminal: Bool, stdinOpen: Bool, settleMs: Int) {
            self.socket = socket
            self.client = client
            self.terminal = terminal
            self.stdinOpen = stdinOpen
            self.settleMs = settleMs
            if !stdinOpen { endOfInputAt = bh_monotonic_ms() }
        }

        /// nil: detached (exit 0); otherwise the exit status of a failure already printed.
        mutating func run() -> Int32? {
            guard let first = send(CommandCatalog.consoleRead, []) else { return CtlCommand.Status.failed }
            readID = first
            while true {
                let now = bh_monotonic_ms()
                if let end = endOfInputAt, pending.isEmpty, writeID == nil,
                    now - lastOutputAt >= Int64(settleMs) || now - end >= ConsoleCommand.maxLingerMilliseconds
                {
                    return nil
                }
                var fds = [pollfd(fd: socket.fileDescriptor.rawValue, events: Int16(POLLIN), revents: 0)]
                if stdinOpen && pending.isEmpty && writeID == nil { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
                var timeout = -1
                if let retryAt { timeout = Int(max(0, retryAt - now)) }
                if endOfInputAt != nil { timeout = timeout < 0 ? 50 : min(timeout, 50) }
                let n = poll(&fds, nfds_t(fds.count), Int32(timeout))
                if n < 0 && errno == EINTR { continue }
                if fds[0].revents != 0, let status = receive() { return status == 0 ? nil : status }
                if fds.count > 1, fds[1].revents != 0, readInput() { return nil }
                if !pending.isEmpty, writeID == nil, retryAt.map({ bh_monotonic_ms() >= $0 }) ?? true {
                    retryAt = nil
                    guard let id = send(CommandCatalog.consoleWrite, ConsoleWriteRequest(input: Array(pending.prefix(ProtocolLimits.maxFieldLength))).body) else {
                        return CtlCommand.Status.failed
                    }
                    writeID = id
                }
            }
        }

        private func send(_ command: CommandSpec, _ body: [UInt8]) -> UInt32? {
            do { return try client.send(command: command, body: body) } catch {
                StandardError.line("console: \(error)")
                return nil
            }
        }

        /// One datagram from the parent. 0: the VM ended (the parent closed); a failure's status; nil: go on.
        private mutating func receive() -> Int32? {
            var datagram: ReceivedDatagram
            do { datagram = try socket.receive() } catch {
                StandardError.line("console: \(error)")
                return CtlCommand.Status.failed
            }
            datagram.closeFDs()
            if datagram.isHangUp {
                StandardError.line("console: the VM has ended")
                return 0
            }
            guard let header = try? MessageHeader.decode(datagram.bytes) else {
                StandardError.line("console: a malformed datagram from the VM")
                return CtlCommand.Status.failed
            }
            let body = Array(datagram.bytes[ProtocolLimits.headerSize...])
            if header.kind == .error {
                let reply = (try? ErrorReply.decode(body)).map { ProtocolError.remote(code: $0.code, message: $0.message) }
                return CtlCommand.status(of: reply ?? .unexpectedReply("a malformed error"), command: "console")
            }
            if header.requestID == readID, header.commandID == CommandCatalog.consoleRead.id,
                let output = try? ConsoleOutputReply.decode(body)
            {
                guard Self.writeAll(output.output) else { return 0 }  // stdout is gone: nothing to show to
                lastOutputAt = bh_monotonic_ms()
                guard let next = send(CommandCatalog.consoleRead, []) else { return CtlCommand.Status.failed }
                readID = next
            } else if header.requestID == writeID, header.commandID == CommandCatalog.consoleWrite.id,
                let reply = try? ConsoleWriteReply.decode(body), Int(reply.taken) <= pending.count
            {
                writeID = nil
                pending.removeFirst(Int(reply.taken))
                if !pending.isEmpty { retryAt = bh_monotonic_ms() + Int64(ConsoleCommand.retryMilliseconds) }
            } else {
                StandardError.line("console: an unexpected reply from the VM (command \(header.commandID))")
                return CtlCommand.Status.failed
            }
            return nil
        }

        /// Reads stdin; true when the escape sequence asks to detach.
        private mutating func readInput() -> Bool {
            var buffer = [UInt8](repeating: 0, count: 1024)
            let n = read(0, &buffer, buffer.count)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { return false }
            guard n > 0 else {
                stdinOpen = false
                endOfInputAt = bh_monotonic_ms()
                lastOutputAt = max(lastOutputAt, endOfInputAt!)
                return false
            }
            guard terminal else {
                pending += buffer[..<n]
                return false
            }
            for byte in buffer[..<n] {
                if escape.filter(byte, into: &pending) { return true }
            }
            return false
        }

        private static func writeAll(_ bytes: [UInt8]) -> Bool {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
    }
}
