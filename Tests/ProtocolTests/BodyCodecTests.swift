import BulkheadProtocol
import Testing

@Suite struct BodyCodecTests {
    /// One field as it goes on the wire: tag, u32 LE length, value.
    func field(_ tag: UInt8, length: UInt32? = nil, _ value: [UInt8]) -> [UInt8] {
        let n = length ?? UInt32(value.count)
        return [tag, UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)] + value
    }

    func malformed(_ body: [UInt8], _ shape: [FieldSpec]) -> String? {
        do {
            try BodyReader.validate(body, against: shape)
            return nil
        } catch {
            guard case .malformedBody(let why) = error else { return "wrong error \(error)" }
            return why
        }
    }

    @Test func everyFieldTypeRoundTrips() throws {
        var w = BodyWriter()
        w.bool(true)
        w.u32(0xFFFF_FFFF)
        w.i32(-5)
        w.u64(1 << 40)
        w.enumeration(1)
        w.bytes([0, 0xFF, 0x80])
        w.string("tap0 ✓")
        w.strings(["--a", "", "b"])
        var r = BodyReader(w.bytes)
        #expect(try r.bool("b") == true)
        #expect(try r.u32("u") == 0xFFFF_FFFF)
        #expect(try r.i32("i") == -5)
        #expect(try r.u64("q") == 1 << 40)
        #expect(try r.enumeration("e", cases: ["x", "y"]) == 1)
        #expect(try r.bytes("p") == [0, 0xFF, 0x80])
        #expect(try r.string("s") == "tap0 ✓")
        #expect(try r.strings("l") == ["--a", "", "b"])
        try r.finish()
    }

    @Test func fieldLengthPastTheEndIsMalformedNotARead() {
        let body = field(6, length: 10, [1, 2, 3])
        #expect(malformed(body, [FieldSpec("path", .bytes)]) == "field path: length 10 runs past the end (3 bytes left)")
    }

    @Test func fieldLengthOfFourGigabytesIsMalformed() {
        let body = field(6, length: UInt32.max, [1])
        #expect(malformed(body, [FieldSpec("path", .bytes)])?.contains("runs past the end") == true)
    }

    @Test func fieldOverTheFieldLimitIsMalformed() {
        let body = field(6, Array(repeating: 0x41, count: 4097))
        #expect(malformed(body, [FieldSpec("path", .bytes)]) == "field path: length 4097 is over the limit of 4096")
    }

    @Test func aPathOfExactly4096BytesFits() throws {
        let request = BlockOpenRequest(path: Array(repeating: 0x61, count: 4096), access: .readWrite)
        #expect(request.body.count + ProtocolLimits.headerSize <= ProtocolLimits.maxMessageSize)
        #expect(try BlockOpenRequest.decode(request.body) == request)
    }

    @Test func missingFieldHeaderIsMalformed() {
        #expect(malformed([6, 0, 0], [FieldSpec("path", .bytes)]) == "field path: missing (3 bytes left)")
        #expect(malformed([], [FieldSpec("version", .u32)]) == "field version: missing (0 bytes left)")
    }

    @Test func wrongTagIsMalformed() {
        #expect(malformed(field(7, [0x61]), [FieldSpec("path", .bytes)]) == "field path: expected bytes, found string")
        #expect(malformed(field(99, [0x61]), [FieldSpec("path", .bytes)]) == "field path: expected bytes, found unknown tag 99")
    }

    @Test func fixedSizeFieldWithAnotherLengthIsMalformed() {
        #expect(malformed(field(2, [1, 0]), [FieldSpec("version", .u32)]) == "field version: a u32 value is 4 bytes, length says 2")
        #expect(malformed(field(4, length: 9, Array(repeating: 0, count: 9)), [FieldSpec("size", .u64)]) != nil)
    }

    @Test func boolOtherThanZeroOrOneIsMalformed() {
        #expect(malformed(field(1, [2]), [FieldSpec("flag", .bool)]) == "field flag: bool must be 0 or 1, got 2")
    }

    @Test func enumIndexPastItsCasesIsMalformed() {
        let shape = [FieldSpec("access", .enumeration(["ro", "rw"]))]
        #expect(malformed(field(5, [2]), shape) == "field access: 2 is not one of ro/rw")
    }

    @Test func stringWithInvalidUTF8OrNULIsMalformed() {
        let shape = [FieldSpec("name", .string)]
        #expect(malformed(field(7, [0x74, 0xC3]), shape) == "field name: string is not valid UTF-8")
        #expect(malformed(field(7, [0x74, 0x00, 0x61]), shape) == "field name: string contains a NUL byte")
    }

    @Test func listWithMoreThan64EntriesIsMalformed() {
        let entries = (0..<65).flatMap { _ in field(7, [0x61]) }
        #expect(malformed(field(8, entries), [FieldSpec("args", .strings)]) == "field args: more than 64 entries")
    }

    @Test func listEntryRunningPastTheListIsMalformed() {
        // The entry claims 5 bytes; the list holds 2 after its header, even though the
        // body has more bytes after the list.
        let list = field(8, length: 7, [7, 5, 0, 0, 0, 0x61, 0x62])
        let body = list + field(1, [1])
        #expect(malformed(body, [FieldSpec("args", .strings), FieldSpec("x", .bool)]) == "field args[0]: length 5 runs past the end (2 bytes left)")
    }

    @Test func bytesAfterTheLastFieldAreMalformed() {
        #expect(malformed(field(1, [1]) + [0], [FieldSpec("flag", .bool)]) == "1 bytes after the last field")
    }

    @Test func typedRequestsAndRepliesRoundTrip() throws {
        #expect(try HelloRequest.decode(HelloRequest().body) == HelloRequest(version: 1))
        let hello = HelloReply(helper: "bulkhead-net")
        #expect(try HelloReply.decode(hello.body) == hello)
        let open = BlockOpenRequest(path: [0x2F, 0xFF, 0x00], access: .readOnly)
        #expect(try BlockOpenRequest.decode(open.body) == open)
        let opened = BlockOpenReply(size: 1 << 33, access: .readWrite, kind: .blockDevice)
        #expect(try BlockOpenReply.decode(opened.body) == opened)
        let tap = NetOpenTapRequest(name: "tap0")
        #expect(try NetOpenTapRequest.decode(tap.body) == tap)
        #expect(try NetOpenTapReply.decode(NetOpenTapReply(name: "tap0").body) == NetOpenTapReply(name: "tap0"))
        let hook = ExecRunHookRequest(hook: "up", arguments: ["tap0", "--mtu=1500"])
        #expect(try ExecRunHookRequest.decode(hook.body) == hook)
        let ran = ExecRunHookReply(exitStatus: -1, signal: 9, stdout: [1, 2], truncated: true, timedOut: true)
        #expect(try ExecRunHookReply.decode(ran.body) == ran)
        #expect(try EchoRequest.decode(EchoRequest(payload: [9]).body) == EchoRequest(payload: [9]))
    }

    @Test func typedMessagesHaveTheCatalogsShapes() throws {
        try BodyReader.validate(HelloRequest().body, against: CommandCatalog.hello.arguments)
        try BodyReader.validate(HelloReply(helper: "x").body, against: CommandCatalog.hello.reply)
        try BodyReader.validate(EchoRequest(payload: []).body, against: CommandCatalog.echo.arguments)
        try BodyReader.validate(EchoReply(payload: []).body, against: CommandCatalog.echo.reply)
        try BodyReader.validate(BlockOpenRequest(path: "/a", access: .readOnly).body, against: CommandCatalog.blockOpen.arguments)
        try BodyReader.validate(BlockOpenReply(size: 0, access: .readOnly, kind: .file).body, against: CommandCatalog.blockOpen.reply)
        try BodyReader.validate(NetOpenTapRequest(name: "t").body, against: CommandCatalog.netOpenTap.arguments)
        try BodyReader.validate(NetOpenTapReply(name: "t").body, against: CommandCatalog.netOpenTap.reply)
        try BodyReader.validate(ExecRunHookRequest(hook: "h", arguments: []).body, against: CommandCatalog.execRunHook.arguments)
        try BodyReader.validate(
            ExecRunHookReply(exitStatus: 0, signal: 0, stdout: [], truncated: false, timedOut: false).body,
            against: CommandCatalog.execRunHook.reply)
        try BodyReader.validate(ErrorReply(code: 1, message: "m").body, against: CommandCatalog.errorReply)
    }

    @Test func largestExecReplyFitsInOneMessage() {
        let reply = ExecRunHookReply(
            exitStatus: 0, signal: 0, stdout: Array(repeating: 0, count: ProtocolLimits.maxFieldLength),
            truncated: true, timedOut: false)
        #expect(reply.body.count <= ProtocolLimits.maxBodySize)
    }

    @Test func execReplyCappingCutsOutputToTheFieldLimitAndSaysSo() throws {
        let long = ExecRunHookReply.capping(exitStatus: 0, signal: 0, output: Array(repeating: 1, count: 5000), truncated: false, timedOut: false)
        #expect(long.stdout.count == ProtocolLimits.maxFieldLength && long.truncated)
        let short = ExecRunHookReply.capping(exitStatus: 3, signal: 0, output: [1, 2], truncated: false, timedOut: true)
        #expect(short == ExecRunHookReply(exitStatus: 3, signal: 0, stdout: [1, 2], truncated: false, timedOut: true))
        try BodyReader.validate(long.body, against: CommandCatalog.execRunHook.reply)
    }

    @Test func eachHelperServesItsOwnCommandsAndTheProtocols() {
        #expect(CommandCatalog.commands(servedBy: .block).map(\.name) == ["hello", "echo", "block.open"])
        #expect(CommandCatalog.commands(servedBy: .exec).map(\.name) == ["hello", "echo", "exec.run-hook"])
    }

    @Test func errorReplyMessageIsCutAndFreedOfNUL() {
        let error = ErrorReply(code: 16, message: "a\u{0}b" + String(repeating: "é", count: 2000))
        #expect(error.message.utf8.count <= ErrorReply.maxMessageBytes)
        #expect(!error.message.utf8.contains(0))
        #expect(error.message.hasPrefix("a\u{FFFD}b"))
    }
}
