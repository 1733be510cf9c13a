/// Builds a body field by field (PROTOCOL.md, "Body"): `tag: u8, length: u32 LE, value`.
/// Writers are for trusted, local values: a value past a limit is a programming error and
/// traps, while the reader on the other side rejects it anyway.
public struct BodyWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func bool(_ value: Bool) { field(FieldType.bool.tag, [value ? 1 : 0]) }
    public mutating func u32(_ value: UInt32) { fixed(FieldType.u32.tag, value) }
    public mutating func i32(_ value: Int32) { fixed(FieldType.i32.tag, UInt32(bitPattern: value)) }
    public mutating func u64(_ value: UInt64) { fixed(FieldType.u64.tag, value) }

    /// An enumeration field: the case's index in the catalog's case list.
    public mutating func enumeration(_ index: Int) {
        precondition(index >= 0 && index < 256)
        field(FieldType.enumeration([]).tag, [UInt8(index)])
    }

    public mutating func bytes(_ value: [UInt8]) {
        precondition(value.count <= ProtocolLimits.maxFieldLength, "bytes field over the limit")
        field(FieldType.bytes.tag, value)
    }

    public mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        precondition(utf8.count <= ProtocolLimits.maxFieldLength && !utf8.contains(0), "string field invalid")
        field(FieldType.string.tag, utf8)
    }

    /// A list of strings: the tag and total length, then each entry as a `string` field.
    public mutating func strings(_ values: [String]) {
        precondition(values.count <= ProtocolLimits.maxListCount, "strings field over the limit")
        var inner = BodyWriter()
        for value in values { inner.string(value) }
        field(FieldType.strings.tag, inner.bytes)
    }

    private mutating func fixed<T: FixedWidthInteger>(_ tag: UInt8, _ value: T) {
        bytes.append(tag)
        bytes.appendLittleEndian(UInt32(MemoryLayout<T>.size))
        bytes.appendLittleEndian(value)
    }

    private mutating func field(_ tag: UInt8, _ value: [UInt8]) {
        bytes.append(tag)
        bytes.appendLittleEndian(UInt32(value.count))
        bytes.append(contentsOf: value)
    }
}
