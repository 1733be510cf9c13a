/// A typed body: encodes itself field by field and decodes from a `BodyReader`.
public protocol BodyCodable: Sendable {
    func encode(into writer: inout BodyWriter)
    init(from reader: inout BodyReader) throws(ProtocolError)
}

/// A typed request of one catalog command, with the type of its reply.
public protocol RequestMessage: BodyCodable {
    associatedtype Reply: BodyCodable
    static var command: CommandSpec { get }
}

extension BodyCodable {
    /// The encoded body.
    public var body: [UInt8] {
        var writer = BodyWriter()
        encode(into: &writer)
        return writer.bytes
    }

    /// Decodes a whole body: every field, and nothing after the last one.
    public static func decode(_ body: [UInt8]) throws(ProtocolError) -> Self {
        var reader = BodyReader(body)
        let value = try Self(from: &reader)
        try reader.finish()
        return value
    }
}
