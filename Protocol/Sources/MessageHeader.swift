/// The fixed 24-byte little-endian header at the start of every datagram (PROTOCOL.md,
/// "Header"). Bytes 0..<8 (magic, version) keep their meaning in every future version.
public struct MessageHeader: Equatable, Sendable {
    /// "BHLK" in the first four bytes.
    public static let magic: UInt32 = 0x4B4C_4842

    public var version: UInt16
    public var kind: MessageKind
    /// fds carried in this datagram's SCM_RIGHTS; must equal what arrives.
    public var fdCount: UInt8
    /// Chosen by the client, copied into the reply. 0 only in error replies to a datagram
    /// whose header could not be read.
    public var requestID: UInt32
    public var commandID: UInt16
    public var bodyLength: UInt32

    public init(
        kind: MessageKind, requestID: UInt32, commandID: UInt16, bodyLength: UInt32, fdCount: UInt8,
        version: UInt16 = ProtocolLimits.version
    ) {
        self.version = version
        self.kind = kind
        self.fdCount = fdCount
        self.requestID = requestID
        self.commandID = commandID
        self.bodyLength = bodyLength
    }

    /// The header's 24 bytes, appended to `out`.
    public func encode(into out: inout [UInt8]) {
        out.appendLittleEndian(Self.magic)
        out.appendLittleEndian(version)
        out.append(kind.rawValue)
        out.append(fdCount)
        out.appendLittleEndian(requestID)
        out.appendLittleEndian(commandID)
        out.appendLittleEndian(UInt16(0))
        out.appendLittleEndian(bodyLength)
        out.appendLittleEndian(UInt32(0))
    }

    /// Reads and checks the header of `datagram`, in PROTOCOL.md's order: length, magic,
    /// version, reserved bytes, kind, fd count, body length against the limit and the datagram.
    public static func decode(_ datagram: [UInt8]) throws(ProtocolError) -> MessageHeader {
        guard datagram.count >= ProtocolLimits.headerSize else {
            throw .truncated("\(datagram.count) bytes, the header needs \(ProtocolLimits.headerSize)")
        }
        let magic = datagram.littleEndian(UInt32.self, at: 0)
        guard magic == Self.magic else { throw .badMagic(magic) }
        let version = datagram.littleEndian(UInt16.self, at: 4)
        guard version == ProtocolLimits.version else { throw .unsupportedVersion(version) }
        guard datagram.littleEndian(UInt16.self, at: 14) == 0, datagram.littleEndian(UInt32.self, at: 20) == 0 else {
            throw .nonzeroReserved
        }
        guard let kind = MessageKind(rawValue: datagram[6]) else { throw .badKind(datagram[6]) }
        let fdCount = datagram[7]
        guard Int(fdCount) <= ProtocolLimits.maxFDs else { throw .tooManyFDs("header declares \(fdCount)") }
        let bodyLength = datagram.littleEndian(UInt32.self, at: 16)
        // Compared as UInt32 against Ints that are at most maxMessageSize: no arithmetic
        // on the untrusted value, so no overflow.
        let carried = datagram.count - ProtocolLimits.headerSize
        guard bodyLength <= UInt32(ProtocolLimits.maxBodySize) else {
            throw .oversized("header declares a \(bodyLength)-byte body, the limit is \(ProtocolLimits.maxBodySize)")
        }
        guard Int(bodyLength) <= carried else {
            throw .truncated("header declares a \(bodyLength)-byte body, the datagram carries \(carried)")
        }
        guard Int(bodyLength) == carried else { throw .lengthMismatch(declared: bodyLength, actual: carried) }
        return MessageHeader(
            kind: kind, requestID: datagram.littleEndian(UInt32.self, at: 8),
            commandID: datagram.littleEndian(UInt16.self, at: 12), bodyLength: bodyLength, fdCount: fdCount,
            version: version)
    }

    /// Request and command id of a datagram whose first bytes carry this version's magic
    /// and version, so an error reply can name the request; (0, 0) when they cannot be read.
    public static func replyAddress(of datagram: [UInt8]) -> (requestID: UInt32, commandID: UInt16) {
        guard datagram.count >= ProtocolLimits.headerSize,
            datagram.littleEndian(UInt32.self, at: 0) == Self.magic,
            datagram.littleEndian(UInt16.self, at: 4) == ProtocolLimits.version
        else { return (0, 0) }
        return (datagram.littleEndian(UInt32.self, at: 8), datagram.littleEndian(UInt16.self, at: 12))
    }

    /// A whole datagram: this header (with `bodyLength` set from `body`) followed by `body`.
    public static func datagram(
        kind: MessageKind, requestID: UInt32, commandID: UInt16, body: [UInt8], fdCount: Int
    ) -> [UInt8] {
        precondition(body.count <= ProtocolLimits.maxBodySize && fdCount <= ProtocolLimits.maxFDs)
        var out: [UInt8] = []
        out.reserveCapacity(ProtocolLimits.headerSize + body.count)
        MessageHeader(
            kind: kind, requestID: requestID, commandID: commandID, bodyLength: UInt32(body.count),
            fdCount: UInt8(fdCount)
        ).encode(into: &out)
        out.append(contentsOf: body)
        return out
    }
}
