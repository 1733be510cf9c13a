/// The body of every message of kind `error`: a code from PROTOCOL.md's table and a
/// human-readable message. Never carries fds.
public struct ErrorReply: BodyCodable, Equatable {
    /// Longest message sent; longer ones are cut at a character boundary.
    public static let maxMessageBytes = 1024

    public var code: UInt32
    public var message: String

    /// A message safe to put on the wire: NULs replaced, cut to `maxMessageBytes`.
    public init(code: UInt32, message: String) {
        self.code = code
        var safe = ""
        var used = 0
        for scalar in message.unicodeScalars {
            let s = scalar == "\0" ? "\u{FFFD}" : scalar
            let size = String(s).utf8.count
            guard used + size <= Self.maxMessageBytes else { break }
            safe.unicodeScalars.append(s)
            used += size
        }
        self.message = safe
    }

    public init(_ error: ProtocolError) { self.init(code: error.code, message: error.description) }

    public func encode(into w: inout BodyWriter) {
        w.u32(code)
        w.string(message)
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        code = try r.u32("code")
        message = try r.string("message")
    }
}
