import BulkheadProtocol
import Testing

@Suite struct HeaderCodecTests {
    @Test func helloRequestEncodesToTheSpecExampleBytes() {
        let bytes = MessageHeader.datagram(
            kind: .request, requestID: 7, commandID: CommandCatalog.hello.id, body: HelloRequest(version: 1).body,
            fdCount: 0)
        #expect(bytes == [
            0x42, 0x48, 0x4C, 0x4B, 0x01, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x02, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        ])
    }

    @Test func headerRoundTripsEveryField() throws {
        let bytes = MessageHeader.datagram(kind: .reply, requestID: 0xDEAD_BEEF, commandID: 48, body: [1, 2, 3], fdCount: 1)
        let header = try MessageHeader.decode(bytes)
        #expect(header == MessageHeader(kind: .reply, requestID: 0xDEAD_BEEF, commandID: 48, bodyLength: 3, fdCount: 1))
    }

    @Test(arguments: [0, 1, 8, 23])
    func headerShorterThan24BytesIsTruncated(length: Int) {
        let bytes = Array(rawDatagram().prefix(length))
        #expect(throws: ProtocolError.truncated("\(length) bytes, the header needs 24")) {
            try MessageHeader.decode(bytes)
        }
    }

    @Test func wrongMagicIsRejected() {
        #expect(throws: ProtocolError.badMagic(0x4B4C_4843)) { try MessageHeader.decode(rawDatagram(magic: 0x4B4C_4843)) }
    }

    @Test(arguments: [UInt16(0), 2, 0xFFFF])
    func otherVersionsAreUnsupported(version: UInt16) {
        #expect(throws: ProtocolError.unsupportedVersion(version)) {
            try MessageHeader.decode(rawDatagram(version: version))
        }
    }

    @Test func nonzeroReservedBytesAreRejected() {
        #expect(throws: ProtocolError.nonzeroReserved) { try MessageHeader.decode(rawDatagram(reserved1: 1)) }
        #expect(throws: ProtocolError.nonzeroReserved) { try MessageHeader.decode(rawDatagram(reserved2: 0x8000_0000)) }
    }

    @Test(arguments: [UInt8(0), 4, 255])
    func unknownKindIsRejected(kind: UInt8) {
        #expect(throws: ProtocolError.badKind(kind)) { try MessageHeader.decode(rawDatagram(kind: kind)) }
    }

    @Test func declaredFDCountOverTheLimitIsRejected() {
        #expect(throws: ProtocolError.tooManyFDs("header declares 5")) { try MessageHeader.decode(rawDatagram(fdCount: 5)) }
    }

    @Test(arguments: [UInt32.max, UInt32.max - 23, 8169])
    func bodyLengthThatOverflowsOrExceedsTheLimitIsOversized(length: UInt32) {
        #expect(throws: ProtocolError.oversized("header declares a \(length)-byte body, the limit is 8168")) {
            try MessageHeader.decode(rawDatagram(bodyLength: length, body: [1, 2]))
        }
    }

    @Test func bodyLengthPastTheDatagramIsTruncated() {
        #expect(throws: ProtocolError.truncated("header declares a 100-byte body, the datagram carries 50")) {
            try MessageHeader.decode(rawDatagram(bodyLength: 100, body: Array(repeating: 0, count: 50)))
        }
    }

    @Test func bytesAfterTheDeclaredBodyAreALengthMismatch() {
        #expect(throws: ProtocolError.lengthMismatch(declared: 2, actual: 3)) {
            try MessageHeader.decode(rawDatagram(bodyLength: 2, body: [1, 2, 3]))
        }
    }

    @Test func replyAddressIsZeroUnlessMagicAndVersionAreOurs() {
        #expect(MessageHeader.replyAddress(of: rawDatagram(requestID: 5, commandID: 16)) == (5, 16))
        #expect(MessageHeader.replyAddress(of: rawDatagram(magic: 1, requestID: 5)) == (0, 0))
        #expect(MessageHeader.replyAddress(of: rawDatagram(version: 2, requestID: 5)) == (0, 0))
        #expect(MessageHeader.replyAddress(of: Array(rawDatagram(requestID: 5).prefix(20))) == (0, 0))
    }
}
