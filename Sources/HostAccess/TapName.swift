/// A network interface name the net helper will consider: 1 to 15 bytes (IFNAMSIZ - 1),
/// only `A-Z a-z 0-9 _ . -`, and not `.` or `..`. That excludes `/`, whitespace, `:` and
/// `%` (which the kernel would treat as a name template such as `tap%d`), so a valid name
/// is also a safe single component of a /sys path.
public struct TapName: Hashable, Sendable, CustomStringConvertible {
    /// IFNAMSIZ (16) counts the terminating NUL.
    public static let maximumLength = 15

    public let text: String

    public init(validating bytes: [UInt8]) throws(TapRefusal) {
        if bytes.isEmpty { throw .invalidName(name: bytes, reason: "the name is empty") }
        if bytes.count > Self.maximumLength {
            throw .invalidName(
                name: bytes,
                reason: "the name is \(bytes.count) bytes long; the limit is \(Self.maximumLength) (IFNAMSIZ)")
        }
        if let offset = bytes.firstIndex(where: { !Self.isAllowed($0) }) {
            throw .invalidName(
                name: bytes,
                reason: "byte \(offset + 1) is not one of A-Z a-z 0-9 _ . -")
        }
        if bytes == [UInt8(ascii: ".")] || bytes == [UInt8(ascii: "."), UInt8(ascii: ".")] {
            throw .invalidName(name: bytes, reason: "\".\" and \"..\" are not interface names")
        }
        text = String(decoding: bytes, as: UTF8.self)
    }

    public init(validating text: String) throws(TapRefusal) {
        try self.init(validating: Array(text.utf8))
    }

    /// Also the bytes of a hook name (DeclaredHooks, `bulkhead units`).
    public static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    public var description: String { ByteText.quoted(text.utf8) }
}
