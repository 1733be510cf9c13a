import SystemPackage
import Vocabulary

/// The request loop every helper runs on its socket (PROTOCOL.md, "Malformed input").
/// It checks each datagram, answers `hello` (and `echo` unless `test-only` is denied)
/// itself, hands every other valid request to the handler, and keeps serving after every
/// bad one. On the hot path it only calls recvmsg, sendmsg and close (plus the allocator),
/// all in the `helper-runtime` seccomp profile.
public final class RequestServer {
    /// Why `serve` returned.
    public enum End: Equatable, Sendable {
        /// recvmsg returned 0, or a reply could not be sent because the peer is gone.
        case peerHungUp
        /// The peer speaks another version; it got one error reply, then the loop ended.
        case versionMismatch(UInt16)
        /// recvmsg or sendmsg failed otherwise.
        case socketError(ProtocolError)
    }

    public let socket: SeqPacketSocket
    public let helper: HelperKind
    /// The name `hello` answers with, e.g. `bulkhead-block`.
    public let name: String
    /// Commands in these groups are refused with `command-denied`.
    public let deniedGroups: Set<FeatureGroup>
    /// Called with every error sent back (for a log line); must stay within the helper's
    /// profile (write to stderr is allowed).
    public var onError: ((ProtocolError) -> Void)?

    public init(
        socket: SeqPacketSocket, helper: HelperKind, name: String, deniedGroups: Set<FeatureGroup> = [.testOnly]
    ) {
        self.socket = socket
        self.helper = helper
        self.name = name
        self.deniedGroups = deniedGroups
    }

    /// Serves until the peer hangs up. The handler gets each valid request of a command
    /// this helper serves (not `hello`/`echo`) and returns a `Reply`, or throws: a
    /// `ProtocolError` is sent as is, any other error as `refused` with its description.
    public func serve(_ handler: (IncomingRequest) throws -> Reply) -> End {
        while true {
            var datagram: ReceivedDatagram
            do { datagram = try socket.receive() } catch { return .socketError(error) }
            if datagram.isHangUp {
                datagram.closeFDs()
                return .peerHungUp
            }
            if let end = handle(&datagram, handler) { return end }
        }
    }

    /// One datagram, checked in PROTOCOL.md's order (RequestCheck). Returns non-nil to end the loop.
    private func handle(_ datagram: inout ReceivedDatagram, _ handler: (IncomingRequest) throws -> Reply) -> End? {
        let request: IncomingRequest
        switch RequestCheck.check(&datagram, served: helper, denied: deniedGroups) {
        case .request(let checked): request = checked
        case .error(let error, let requestID, let commandID, let endsConnection):
            let end = sendError(error, requestID: requestID, commandID: commandID)
            if endsConnection, case .unsupportedVersion(let version) = error { return .versionMismatch(version) }
            return end
        }
        let header = (requestID: request.requestID, commandID: request.command.id)
        let command = request.command
        var reply: Reply
        do { reply = try answer(request, handler) } catch let error as ProtocolError {
            return sendError(error, requestID: header.requestID, commandID: header.commandID)
        } catch {
            return sendError(.refused(String(describing: error)), requestID: header.requestID, commandID: header.commandID)
        }
        return send(&reply, for: command, requestID: header.requestID)
    }

    private func answer(_ request: IncomingRequest, _ handler: (IncomingRequest) throws -> Reply) throws -> Reply {
        switch request.command.id {
        case CommandCatalog.hello.id:
            let hello = try request.decode(HelloRequest.self)
            guard hello.version == UInt32(ProtocolLimits.version) else {
                throw ProtocolError.unsupportedVersion(UInt16(clamping: hello.version))
            }
            return Reply(HelloReply(helper: name))
        case CommandCatalog.echo.id:
            return Reply(EchoReply(payload: try request.decode(EchoRequest.self).payload))
        default:
            return try handler(request)
        }
    }

    /// Sends a handler's reply after checking it keeps the catalog's promise; closes its fds
    /// once sent, or before the error reply when the reply is refused.
    private func send(_ reply: inout Reply, for command: CommandSpec, requestID: UInt32) -> End? {
        func closeFDs() {
            for fd in reply.fds { try? fd.close() }
            reply.fds = []
        }
        var problem: ProtocolError?
        if reply.fds.count != command.replyFDs {
            problem = .internalError("\(command.name) reply has \(reply.fds.count) fds, the catalog says \(command.replyFDs)")
        } else if reply.body.count > ProtocolLimits.maxBodySize {
            problem = .internalError("\(command.name) reply body is \(reply.body.count) bytes")
        } else {
            do { try BodyReader.validate(reply.body, against: command.reply) } catch {
                problem = .internalError("\(command.name) reply does not match its shape: \(error)")
            }
        }
        if let problem {
            closeFDs()
            return sendError(problem, requestID: requestID, commandID: command.id)
        }
        let datagram = MessageHeader.datagram(
            kind: .reply, requestID: requestID, commandID: command.id, body: reply.body, fdCount: reply.fds.count)
        defer { closeFDs() }
        return transmit(datagram, fds: reply.fds)
    }

    private func sendError(_ error: ProtocolError, requestID: UInt32, commandID: UInt16) -> End? {
        onError?(error)
        let datagram = MessageHeader.datagram(
            kind: .error, requestID: requestID, commandID: commandID, body: ErrorReply(error).body, fdCount: 0)
        return transmit(datagram, fds: [])
    }

    private func transmit(_ datagram: [UInt8], fds: [FileDescriptor]) -> End? {
        do { try socket.send(datagram, fds: fds) } catch {
            if case .socket(_, let errno) = error, errno == .brokenPipe || errno == .connectionReset {
                return .peerHungUp
            }
            return .socketError(error)
        }
        return nil
    }
}
