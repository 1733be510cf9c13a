/// `hello`: the client's protocol version.
public struct HelloRequest: RequestMessage, Equatable {
    public typealias Reply = HelloReply
    public static let command = CommandCatalog.hello
    public var version: UInt32

    public init(version: UInt32 = UInt32(ProtocolLimits.version)) { self.version = version }
    public func encode(into w: inout BodyWriter) { w.u32(version) }
    public init(from r: inout BodyReader) throws(ProtocolError) { version = try r.u32("version") }
}

/// `hello` reply: who answers, the version it speaks and its limits.
public struct HelloReply: BodyCodable, Equatable {
    public var helper: String
    public var version: UInt32
    public var maxMessage: UInt32
    public var maxFDs: UInt32
    public var maxField: UInt32

    /// This library's own answer for a helper called `helper`.
    public init(helper: String) {
        self.init(
            helper: helper, version: UInt32(ProtocolLimits.version), maxMessage: UInt32(ProtocolLimits.maxMessageSize),
            maxFDs: UInt32(ProtocolLimits.maxFDs), maxField: UInt32(ProtocolLimits.maxFieldLength))
    }

    public init(helper: String, version: UInt32, maxMessage: UInt32, maxFDs: UInt32, maxField: UInt32) {
        self.helper = helper
        self.version = version
        self.maxMessage = maxMessage
        self.maxFDs = maxFDs
        self.maxField = maxField
    }

    public func encode(into w: inout BodyWriter) {
        w.string(helper)
        w.u32(version)
        w.u32(maxMessage)
        w.u32(maxFDs)
        w.u32(maxField)
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        helper = try r.string("helper")
        version = try r.u32("version")
        maxMessage = try r.u32("max_message")
        maxFDs = try r.u32("max_fds")
        maxField = try r.u32("max_field")
    }
}
