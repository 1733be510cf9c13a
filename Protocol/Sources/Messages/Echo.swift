/// `echo` (test-only): a payload that comes back unchanged.
public struct EchoRequest: RequestMessage, Equatable {
    public typealias Reply = EchoReply
    public static let command = CommandCatalog.echo
    public var payload: [UInt8]

    public init(payload: [UInt8]) { self.payload = payload }
    public func encode(into w: inout BodyWriter) { w.bytes(payload) }
    public init(from r: inout BodyReader) throws(ProtocolError) { payload = try r.bytes("payload") }
}

/// `echo` reply: the request's payload.
public struct EchoReply: BodyCodable, Equatable {
    public var payload: [UInt8]

    public init(payload: [UInt8]) { self.payload = payload }
    public func encode(into w: inout BodyWriter) { w.bytes(payload) }
    public init(from r: inout BodyReader) throws(ProtocolError) { payload = try r.bytes("payload") }
}
