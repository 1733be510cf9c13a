import SystemPackage

/// A request that passed every check of PROTOCOL.md: readable header, a known command this
/// helper serves, an allowed fd count, and a body of exactly the command's argument shape.
public struct IncomingRequest: Sendable {
    public let command: CommandSpec
    public let requestID: UInt32
    /// The body, already validated against `command.arguments`.
    public let body: [UInt8]
    /// fds that came with the request (at most `command.requestFDs`); the handler owns them.
    public let fds: [FileDescriptor]

    /// Decodes the body as the typed request of its command.
    public func decode<Request: RequestMessage>(_ type: Request.Type) throws(ProtocolError) -> Request {
        guard Request.command.id == command.id else {
            throw .internalError("decoding \(command.name) as \(Request.command.name)")
        }
        return try Request.decode(body)
    }
}

/// A handler's successful answer: a reply body of the command's reply shape and exactly
/// `command.replyFDs` fds. The server closes these fds once sent (or if sending fails).
public struct Reply: Sendable {
    public var body: [UInt8]
    public var fds: [FileDescriptor]

    public init<Message: BodyCodable>(_ message: Message, fds: [FileDescriptor] = []) {
        self.body = message.body
        self.fds = fds
    }

    public init(body: [UInt8], fds: [FileDescriptor] = []) {
        self.body = body
        self.fds = fds
    }
}

/// A handler's policy refusal; the reason goes to the client in a `refused` error reply.
public struct Refusal: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
