/// The value types a body field can have. On the wire each field is
/// `tag: u8, length: u32 LE, value` (PROTOCOL.md, "Body").
public enum FieldType: Equatable, Sendable, CustomStringConvertible {
    case bool
    case u32
    case i32
    case u64
    /// One byte: the index of a case in this list.
    case enumeration([String])
    /// Raw bytes, at most `ProtocolLimits.maxFieldLength`.
    case bytes
    /// UTF-8 without NUL, at most `ProtocolLimits.maxFieldLength` bytes.
    case string
    /// A list of `string` fields, at most `ProtocolLimits.maxListCount` entries.
    case strings

    /// The tag byte that precedes the field on the wire.
    public var tag: UInt8 {
        switch self {
        case .bool: 1
        case .u32: 2
        case .i32: 3
        case .u64: 4
        case .enumeration: 5
        case .bytes: 6
        case .string: 7
        case .strings: 8
        }
    }

    /// The value length a fixed-size type must declare; nil for variable-length types.
    public var fixedLength: Int? {
        switch self {
        case .bool, .enumeration: 1
        case .u32, .i32: 4
        case .u64: 8
        case .bytes, .string, .strings: nil
        }
    }

    /// How PROTOCOL.md's command table and `bulkhead protocol` spell the type.
    public var description: String {
        switch self {
        case .bool: "bool"
        case .u32: "u32"
        case .i32: "i32"
        case .u64: "u64"
        case .enumeration(let cases): "enum(" + cases.joined(separator: "/") + ")"
        case .bytes: "bytes"
        case .string: "string"
        case .strings: "strings"
        }
    }

    /// The name of a tag byte, for error messages.
    static func name(ofTag tag: UInt8) -> String {
        switch tag {
        case 1: "bool"
        case 2: "u32"
        case 3: "i32"
        case 4: "u64"
        case 5: "enum"
        case 6: "bytes"
        case 7: "string"
        case 8: "strings"
        default: "unknown tag \(tag)"
        }
    }
}

/// One field of a command's argument or reply shape.
public struct FieldSpec: Equatable, Sendable, CustomStringConvertible {
    public let name: String
    public let type: FieldType

    public init(_ name: String, _ type: FieldType) {
        self.name = name
        self.type = type
    }

    /// `name: type`, as in PROTOCOL.md's command table.
    public var description: String { "\(name): \(type)" }
}
