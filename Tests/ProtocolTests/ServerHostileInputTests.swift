import BulkheadProtocol
import SystemPackage
import Testing
import Vocabulary

/// Each hostile datagram gets PROTOCOL.md §6's answer from a RequestServer on its own
/// thread, every fd that came with it is closed before the answer, the server keeps
/// serving (an echo afterwards still works), and nothing leaks.
@Suite struct ServerHostileInputTests {
    /// Sends `datagram` (with `fds` copies of the marker's read end) and returns the error
    /// reply; checks the marker's fds were closed by the server before it answered, then
    /// that the server still answers a good request, then that it ends on hang-up.
    func answer(
        to datagram: [UInt8], fdCopies: Int = 0, helper: HelperKind = .block, denied: Set<FeatureGroup> = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (header: MessageHeader, error: ErrorReply) {
        var result: (MessageHeader, ErrorReply)?
        try expectNoLeak { client, server, marker in
            let thread = ServerThread(socket: server, helper: helper, deniedGroups: denied)
            try client.send(datagram, fds: Array(repeating: marker.read, count: fdCopies))
            let (header, error, fds) = try receiveError(on: client)
            #expect(header.kind == .error && fds == 0, sourceLocation: sourceLocation)
            #expect(openFDCount(of: [marker.target]) == 2, "the server closed every fd it got", sourceLocation: sourceLocation)
            result = (header, error)
            let echo = try RequestClient(socket: client).call(EchoRequest(payload: [42])).reply
            #expect(echo.payload == [42], "still serving", sourceLocation: sourceLocation)
            client.close()
            #expect(thread.finish() == .peerHungUp, sourceLocation: sourceLocation)
        }
        return try #require(result)
    }

    func request(_ command: CommandSpec, _ body: [UInt8], fdCount: UInt8 = 0, id: UInt32 = 9) -> [UInt8] {
        rawDatagram(fdCount: fdCount, requestID: id, commandID: command.id, body: body)
    }

    @Test func truncatedHeaderGetsTruncatedWithRequestIDZero() throws {
        let (header, error) = try answer(to: Array(rawDatagram(requestID: 5).prefix(10)))
        #expect(error.code == ProtocolError.truncated("").code)
        #expect(header.requestID == 0 && header.commandID == 0)
    }

    @Test func truncatedBodyGetsTruncated() throws {
        let (header, error) = try answer(to: rawDatagram(requestID: 5, bodyLength: 40, body: [1, 2, 3]))
        #expect(error.code == 1 && header.requestID == 5)
        #expect(error.message.contains("declares a 40-byte body"))
    }

    @Test func oversizedDatagramGetsOversizedAndItsFDsClosed() throws {
        let big = request(CommandCatalog.echo, Array(repeating: 0, count: ProtocolLimits.maxMessageSize), fdCount: 1, id: 6)
        let (header, error) = try answer(to: big, fdCopies: 1)
        #expect(error.code == ProtocolError.oversized("").code && header.requestID == 6)
    }

    @Test func wrongMagicGetsBadMagic() throws {
        let (header, error) = try answer(to: rawDatagram(magic: 0x1234_5678, requestID: 5))
        #expect(error.code == ProtocolError.badMagic(0).code && header.requestID == 0)
    }

    @Test func bodyLengthOf4GiBGetsOversized() throws {
        let (_, error) = try answer(to: rawDatagram(bodyLength: UInt32.max, body: [1]))
        #expect(error.code == ProtocolError.oversized("").code)
    }

    @Test func bodyShorterThanTheDatagramGetsLengthMismatch() throws {
        let (_, error) = try answer(to: rawDatagram(bodyLength: 1, body: [1, 2]))
        #expect(error.code == ProtocolError.lengthMismatch(declared: 0, actual: 0).code)
    }

    @Test func nonzeroReservedBytesGetNonzeroReserved() throws {
        let (header, error) = try answer(to: rawDatagram(requestID: 8, reserved2: 1))
        #expect(error.code == ProtocolError.nonzeroReserved.code && header.requestID == 8)
    }

    @Test func aReplySentToTheServerGetsBadKind() throws {
        let (_, error) = try answer(to: rawDatagram(kind: 2))
        #expect(error.code == ProtocolError.badKind(0).code)
    }

    @Test func moreFDsThanTheLimitAreAllClosed() throws {
        let (header, error) = try answer(to: request(CommandCatalog.echo, EchoRequest(payload: []).body, fdCount: 4, id: 3), fdCopies: 9)
        #expect(error.code == ProtocolError.tooManyFDs("").code && header.requestID == 3)
    }

    @Test func fdsOnACommandThatTakesNoneAreClosedWithAnError() throws {
        let body = BlockOpenRequest(path: "/disk.img", access: .readOnly).body
        let (header, error) = try answer(to: request(CommandCatalog.blockOpen, body, fdCount: 2, id: 11), fdCopies: 2)
        #expect(error.code == ProtocolError.unexpectedFDs(command: "", allowed: 0, received: 0).code)
        #expect(header.requestID == 11 && header.commandID == CommandCatalog.blockOpen.id)
        #expect(error.message == "block.open takes 0 fds, 2 arrived; all closed")
    }

    @Test func fdCountDisagreeingWithTheHeaderIsRejected() throws {
        let (_, error) = try answer(to: request(CommandCatalog.echo, EchoRequest(payload: []).body, fdCount: 0), fdCopies: 1)
        #expect(error.code == ProtocolError.fdCountMismatch(declared: 0, received: 0).code)
    }

    @Test func unknownCommandIDGetsUnknownCommand() throws {
        let (header, error) = try answer(to: rawDatagram(requestID: 4, commandID: 0xBEEF))
        #expect(error.code == ProtocolError.unknownCommand(0).code)
        #expect(header.requestID == 4 && header.commandID == 0xBEEF)
    }

    @Test func commandOfAnotherHelperIsNotServedHere() throws {
        let body = NetOpenTapRequest(name: "tap0").body
        let (_, error) = try answer(to: request(CommandCatalog.netOpenTap, body), helper: .block)
        #expect(error.code == ProtocolError.notServedHere(command: "", helper: "").code)
        #expect(error.message == "net.open-tap is not served by the block helper")
    }

    @Test func commandInADeniedGroupIsRefusedBeforeItsHandler() throws {
        let body = ExecRunHookRequest(hook: "up", arguments: []).body
        let (_, error) = try answer(to: request(CommandCatalog.execRunHook, body), helper: .exec, denied: [.unrestricted])
        #expect(error.message == "exec.run-hook is in feature group unrestricted, which is denied here")
    }

    @Test func fieldLengthPastTheEndGetsMalformedBody() throws {
        let body: [UInt8] = [6, 0xFF, 0xFF, 0, 0, 0x2F]
        let (_, error) = try answer(to: request(CommandCatalog.echo, body))
        #expect(error.code == ProtocolError.malformedBody("").code)
        #expect(error.message.contains("field payload: length 65535 runs past the end"))
    }

    @Test func helloNamingAnotherVersionIsUnsupported() throws {
        let (_, error) = try answer(to: request(CommandCatalog.hello, HelloRequest(version: 2).body))
        #expect(error.code == ProtocolError.unsupportedVersion(0).code)
    }

    @Test func wrongHeaderVersionGetsOneErrorThenTheConnectionEnds() throws {
        try expectNoLeak { client, server, marker in
            let thread = ServerThread(socket: server)
            try client.send(rawDatagram(version: 2, fdCount: 1), fds: [marker.read])
            let (header, error, _) = try receiveError(on: client)
            #expect(error.code == ProtocolError.unsupportedVersion(2).code && header.requestID == 0)
            #expect(error.message == "unsupported protocol version 2; this peer speaks 1")
            #expect(thread.finish() == .versionMismatch(2))
            #expect(openFDCount(of: [marker.target]) == 2)
        }
    }

    @Test func peerThatSendsNothingAndHangsUpEndsTheLoop() throws {
        try expectNoLeak { client, server, _ in
            let thread = ServerThread(socket: server)
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }

    @Test func emptyDatagramWithFDsEndsTheLoopAndClosesThem() throws {
        try expectNoLeak { client, server, marker in
            let thread = ServerThread(socket: server)
            try client.send([], fds: [marker.read, marker.write])
            #expect(thread.finish() == .peerHungUp)
            #expect(openFDCount(of: [marker.target]) == 2)
        }
    }

    @Test func everyHostileDatagramInARowLeavesTheServerServing() throws {
        try expectNoLeak { client, server, marker in
            let thread = ServerThread(socket: server)
            let hostile: [([UInt8], Int)] = [
                ([0x42], 0), (rawDatagram(magic: 0), 1),
                (rawDatagram(bodyLength: 0xFFFF_FFF0), 0), (rawDatagram(commandID: 999), 3),
                (rawDatagram(fdCount: 4), 4), (Array(repeating: 0xFF, count: 9000), 2),
                (rawDatagram(commandID: 2, body: [6, 1, 0, 0, 0]), 0),
            ]
            for (bytes, fds) in hostile {
                try client.send(bytes, fds: Array(repeating: marker.write, count: fds))
                _ = try receiveError(on: client)
            }
            #expect(openFDCount(of: [marker.target]) == 2)
            #expect(try RequestClient(socket: client).hello().helper == "bulkhead-test")
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }
}
