/// Reads a body field by field and can never read out of bounds: every length is compared
/// with what is left before it is used, and every failure is a `ProtocolError.malformedBody`
/// naming the field. Call `finish()` after the last field: trailing bytes are an error.
public struct BodyReader: Sendable {
    private let bytes: [UInt8]
    private var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    private init(_ bytes: [UInt8], from start: Int, to end: Int) {
        self.bytes = bytes
        self.offset = start
        self.end = end
    }

    /// Bytes not read yet.
    public var remaining: Int { end - offset }

    public mutating func bool(_ name: String) throws(ProtocolError) -> Bool {
        let at = try field(name, .bool)
        switch bytes[at] {
        case 0: return false
        case 1: return true
        default: throw .malformedBody("field \(name): bool must be 0 or 1, got \(bytes[at])")
        }
    }

    public mutating func u32(_ name: String) throws(ProtocolError) -> UInt32 {
        bytes.littleEndian(UInt32.self, at: try field(name, .u32))
    }

    public mutating func i32(_ name: String) throws(ProtocolError) -> Int32 {
        Int32(bitPattern: bytes.littleEndian(UInt32.self, at: try field(name, .i32)))
    }

    public mutating func u64(_ name: String) throws(ProtocolError) -> UInt64 {
        bytes.littleEndian(UInt64.self, at: try field(name, .u64))
    }

    /// The index of an enumeration case, checked against `cases`.
    public mutating func enumeration(_ name: String, cases: [String]) throws(ProtocolError) -> Int {
        let value = Int(bytes[try field(name, .enumeration(cases))])
        guard value < cases.count else {
            throw .malformedBody("field \(name): \(value) is not one of \(cases.joined(separator: "/"))")
        }
        return value
    }

    public mutating func bytes(_ name: String) throws(ProtocolError) -> [UInt8] {
        let (start, length) = try variableField(name, .bytes, limit: ProtocolLimits.maxFieldLength)
        return Array(bytes[start..<start + length])
    }

    public mutating func string(_ name: String) throws(ProtocolError) -> String {
        let (start, length) = try variableField(name, .string, limit: ProtocolLimits.maxFieldLength)
        let utf8 = bytes[start..<start + length]
        guard !utf8.contains(0) else { throw .malformedBody("field \(name): string contains a NUL byte") }
        guard let value = String(validating: utf8, as: UTF8.self) else {
            throw .malformedBody("field \(name): string is not valid UTF-8")
        }
        return value
    }

    public mutating func strings(_ name: String) throws(ProtocolError) -> [String] {
        let (start, length) = try variableField(name, .strings, limit: ProtocolLimits.maxBodySize)
        var inner = BodyReader(bytes, from: start, to: start + length)
        var values: [String] = []
        while inner.remaining > 0 {
            guard values.count < ProtocolLimits.maxListCount else {
                throw .malformedBody("field \(name): more than \(ProtocolLimits.maxListCount) entries")
            }
            values.append(try inner.string("\(name)[\(values.count)]"))
        }
        return values
    }

    /// Reads one field of any declared type and discards it: shape validation.
    public mutating func skip(_ spec: FieldSpec) throws(ProtocolError) {
        switch spec.type {
        case .bool: _ = try bool(spec.name)
        case .u32: _ = try u32(spec.name)
        case .i32: _ = try i32(spec.name)
        case .u64: _ = try u64(spec.name)
        case .enumeration(let cases): _ = try enumeration(spec.name, cases: cases)
        case .bytes: _ = try bytes(spec.name)
        case .string: _ = try string(spec.name)
        case .strings: _ = try strings(spec.name)
        }
    }

    /// Throws unless every byte was read.
    public func finish() throws(ProtocolError) {
        guard remaining == 0 else { throw .malformedBody("\(remaining) bytes after the last field") }
    }

    /// Checks that `body` is exactly the fields of `shape`, in order, each within its bounds.
    public static func validate(_ body: [UInt8], against shape: [FieldSpec]) throws(ProtocolError) {
        var reader = BodyReader(body)
        for spec in shape { try reader.skip(spec) }
        try reader.finish()
    }

    /// Reads a fixed-size field's header; returns the value's offset.
    private mutating func field(_ name: String, _ type: FieldType) throws(ProtocolError) -> Int {
        let (start, length) = try variableField(name, type, limit: type.fixedLength ?? 0)
        guard length == type.fixedLength else {
            throw .malformedBody("field \(name): a \(type) value is \(type.fixedLength ?? 0) bytes, length says \(length)")
        }
        return start
    }

    /// Reads tag and length, checks both, and consumes the value. Returns (offset, length).
    private mutating func variableField(_ name: String, _ type: FieldType, limit: Int) throws(ProtocolError)
        -> (Int, Int)
    {
        guard remaining >= 5 else { throw .malformedBody("field \(name): missing (\(remaining) bytes left)") }
        let tag = bytes[offset]
        guard tag == type.tag else {
            throw .malformedBody("field \(name): expected \(FieldType.name(ofTag: type.tag)), found \(FieldType.name(ofTag: tag))")
        }
        // The u32 length is widened to Int (64-bit) and compared with what is left before
        // any addition, so no length can overflow or point past the end.
        let length = Int(bytes.littleEndian(UInt32.self, at: offset + 1))
        let start = offset + 5
        guard length <= end - start else {
            throw .malformedBody("field \(name): length \(length) runs past the end (\(end - start) bytes left)")
        }
        guard length <= limit else {
            throw .malformedBody("field \(name): length \(length) is over the limit of \(limit)")
        }
        offset = start + length
        return (start, length)
    }
}
