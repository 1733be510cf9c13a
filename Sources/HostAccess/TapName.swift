import Vocabulary

/// A network interface name the net helper will consider: `Names.isValidTapName` (1 to 15
/// bytes of `A-Z a-z 0-9 _ . -`, not `.` or `..`), refused with the first reason that applies.
public struct TapName: Hashable, Sendable, CustomStringConvertible {
    public static let maximumLength = Names.tapNameLength.upperBound

    public let text: String

    public init(validating bytes: [UInt8]) throws(TapRefusal) {
        if bytes.isEmpty { throw .invalidName(name: bytes, reason: "the name is empty") }
        if bytes.count > Self.maximumLength {
            throw .invalidName(
                name: bytes,
                reason: "the name is \(bytes.count) bytes long; the limit is \(Self.maximumLength) (IFNAMSIZ)")
        }
        if let offset = bytes.firstIndex(where: { !Names.isNameByte($0) }) {
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

    public var description: String { ByteText.quoted(text.utf8) }
}
