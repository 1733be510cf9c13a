import SystemPackage

/// A reply with the fds that came with it; the caller owns (and closes) the fds.
public struct Response<Message: BodyCodable>: Sendable {
    public let reply: Message
    public let fds: [FileDescriptor]
}

/// The client side, used by the worker, the parent and tests: sends a request and waits
/// for the reply with its request id. Not thread-safe: one caller at a time per socket.
public final class RequestClient {
    public let socket: SeqPacketSocket
    private var nextRequestID: UInt32 = 1

    public init(socket: SeqPacketSocket) { self.socket = socket }

    /// The version handshake: sends `hello` and checks the helper speaks this version.
    public func hello() throws(ProtocolError) -> HelloReply {
        let reply = try call(HelloRequest()).reply
        guard reply.version == UInt32(ProtocolLimits.version) else {
            throw .unsupportedVersion(UInt16(clamping: reply.version))
        }
        return reply
    }

    /// Sends `request` (with `fds`, which stay open here) and returns the typed reply and
    /// its fds. An error reply throws `.remote(code:message:)`.
    public func call<Request: RequestMessage>(_ request: Request, fds: [FileDescriptor] = [])
        throws(ProtocolError) -> Response<Request.Reply>
    {
        let (body, replyFDs) = try call(command: Request.command, body: request.body, fds: fds)
        do { return Response(reply: try Request.Reply.decode(body), fds: replyFDs) } catch {
            for fd in replyFDs { try? fd.close() }
            throw error
        }
    }

    /// Sends a raw body for `command` and returns the reply body, checked against the
    /// command's reply shape, and exactly `command.replyFDs` fds.
    public func call(command: CommandSpec, body: [UInt8], fds: [FileDescriptor] = [])
        throws(ProtocolError) -> (body: [UInt8], fds: [FileDescriptor])
    {
        let requestID = try send(command: command, body: body, fds: fds)
        return try receiveReply(to: command, requestID: requestID)
    }

    /// The first half of `call`: sends the request and returns its id. A caller that must
    /// not block (the sealed parent, which also watches its children) polls the socket and
    /// then calls `receiveReply`.
    public func send(command: CommandSpec, body: [UInt8], fds: [FileDescriptor] = []) throws(ProtocolError) -> UInt32 {
        guard body.count <= ProtocolLimits.maxBodySize else {
            throw .oversized("a \(body.count)-byte body, the limit is \(ProtocolLimits.maxBodySize)")
        }
        guard fds.count <= ProtocolLimits.maxFDs else { throw .tooManyFDs("\(fds.count) to send") }
        let requestID = nextRequestID
        nextRequestID = nextRequestID == UInt32.max ? 1 : nextRequestID + 1
        do {
            try socket.send(
                MessageHeader.datagram(kind: .request, requestID: requestID, commandID: command.id, body: body, fdCount: fds.count),
                fds: fds)
        } catch {
            if case .socket(_, let errno) = error, errno == .brokenPipe || errno == .connectionReset { throw .peerHungUp }
            throw error
        }
        return requestID
    }

    /// The second half of `call`: waits for the reply to `requestID` (skipping stale ones).
    public func receiveReply(to command: CommandSpec, requestID: UInt32) throws(ProtocolError)
        -> (body: [UInt8], fds: [FileDescriptor])
    {
        while true {
            var datagram = try socket.receive()
            if let answer = try accept(&datagram, for: command, requestID: requestID) { return answer }
        }
    }

    /// Checks one received datagram against the pending request. Returns nil to skip a
    /// stale reply (another request id); closes every fd of a datagram it does not return.
    private func accept(_ datagram: inout ReceivedDatagram, for command: CommandSpec, requestID: UInt32)
        throws(ProtocolError) -> (body: [UInt8], fds: [FileDescriptor])?
    {
        var handedOver = false
        defer { if !handedOver { datagram.closeFDs() } }
        if datagram.isHangUp { throw .peerHungUp }
        if datagram.controlTruncated { throw .tooManyFDs("more than \(ProtocolLimits.maxFDs) fds in a reply") }
        if datagram.foreignControl { throw .unexpectedControlMessage }
        if datagram.dataTruncated { throw .oversized("reply longer than \(ProtocolLimits.maxMessageSize) bytes") }
        let header = try MessageHeader.decode(datagram.bytes)
        // An error with id 0 answers a request whose header the server could not read.
        guard header.requestID == requestID || (header.requestID == 0 && header.kind == .error) else { return nil }
        guard Int(header.fdCount) == datagram.fds.count else {
            throw .fdCountMismatch(declared: Int(header.fdCount), received: datagram.fds.count)
        }
        let body = Array(datagram.bytes[ProtocolLimits.headerSize...])
        switch header.kind {
        case .error:
            guard datagram.fds.isEmpty else {
                throw .unexpectedFDs(command: "an error reply", allowed: 0, received: datagram.fds.count)
            }
            let error = try ErrorReply.decode(body)
            throw .remote(code: error.code, message: error.message)
        case .request:
            throw .unexpectedReply("a request arrived where the reply to \(command.name) was due")
        case .reply:
            guard header.commandID == command.id else {
                throw .unexpectedReply("reply for command \(header.commandID) to \(command.name)")
            }
            guard datagram.fds.count == command.replyFDs else {
                throw .unexpectedFDs(command: command.name, allowed: command.replyFDs, received: datagram.fds.count)
            }
            try BodyReader.validate(body, against: command.reply)
            handedOver = true
            return (body, datagram.fds)
        }
    }
}
