import BulkheadProtocol
import Foundation
import SystemPackage
import Testing

/// RequestClient against a scripted (possibly hostile) server end.
@Suite struct ClientTests {
    func reply(_ command: CommandSpec, id: UInt32, body: [UInt8], kind: MessageKind = .reply, fdCount: Int = 0) -> [UInt8] {
        MessageHeader.datagram(kind: kind, requestID: id, commandID: command.id, body: body, fdCount: fdCount)
    }

    @Test func staleRepliesAreSkippedAndTheirFDsClosed() throws {
        try expectNoLeak { client, server, marker in
            try server.send(reply(CommandCatalog.blockOpen, id: 77, body: BlockOpenReply(size: 1, access: .readOnly, kind: .file).body, fdCount: 1), fds: [marker.read])
            try server.send(reply(CommandCatalog.blockOpen, id: 1, body: BlockOpenReply(size: 2, access: .readWrite, kind: .file).body, fdCount: 1), fds: [marker.write])
            let response = try RequestClient(socket: client).call(BlockOpenRequest(path: "/d", access: .readWrite))
            #expect(response.reply.size == 2)
            #expect(response.fds.count == 1)
            for fd in response.fds { try fd.close() }
            #expect(openFDCount(of: [marker.target]) == 2)
        }
    }

    @Test func replyWithMissingFDIsRejected() throws {
        try expectNoLeak { client, server, _ in
            try server.send(reply(CommandCatalog.blockOpen, id: 1, body: BlockOpenReply(size: 1, access: .readOnly, kind: .file).body))
            #expect(throws: ProtocolError.unexpectedFDs(command: "block.open", allowed: 1, received: 0)) {
                try RequestClient(socket: client).call(BlockOpenRequest(path: "/d", access: .readOnly))
            }
        }
    }

    @Test func errorReplyCarryingFDsIsRejectedAndTheFDsClosed() throws {
        try expectNoLeak { client, server, marker in
            try server.send(reply(CommandCatalog.echo, id: 1, body: ErrorReply(code: 16, message: "no").body, kind: .error, fdCount: 2), fds: [marker.read, marker.read])
            #expect(throws: ProtocolError.unexpectedFDs(command: "an error reply", allowed: 0, received: 2)) {
                try RequestClient(socket: client).call(EchoRequest(payload: []))
            }
            #expect(openFDCount(of: [marker.target]) == 2)
        }
    }

    @Test func errorWithRequestIDZeroAnswersThePendingRequest() throws {
        try expectNoLeak { client, server, _ in
            try server.send(MessageHeader.datagram(kind: .error, requestID: 0, commandID: 0, body: ErrorReply(.badMagic(1)).body, fdCount: 0))
            #expect(throws: ProtocolError.remote(code: 3, message: "bad magic 0x1")) {
                try RequestClient(socket: client).call(EchoRequest(payload: []))
            }
        }
    }

    @Test func replyToAnotherCommandIsRejected() throws {
        try expectNoLeak { client, server, _ in
            try server.send(reply(CommandCatalog.hello, id: 1, body: HelloReply(helper: "x").body))
            #expect(throws: ProtocolError.unexpectedReply("reply for command 1 to echo")) {
                try RequestClient(socket: client).call(EchoRequest(payload: []))
            }
        }
    }

    @Test func helperSpeakingAnotherVersionFailsTheHandshake() throws {
        try expectNoLeak { client, server, _ in
            let newer = HelloReply(helper: "bulkhead-block", version: 2, maxMessage: 8192, maxFDs: 4, maxField: 4096)
            try server.send(reply(CommandCatalog.hello, id: 1, body: newer.body))
            #expect(throws: ProtocolError.unsupportedVersion(2)) { try RequestClient(socket: client).hello() }
        }
    }

    @Test func serverThatReadsTheRequestAndHangsUpIsPeerHungUp() throws {
        let (client, server) = try SeqPacketSocket.pair()
        defer { client.close() }
        let reader = Thread {
            var request = try? server.receive()
            request?.closeFDs()
            server.close()
        }
        reader.start()
        try client.setReceiveTimeout(microseconds: 5_000_000)
        #expect(throws: ProtocolError.peerHungUp) { try RequestClient(socket: client).call(EchoRequest(payload: [7])) }
    }

    @Test func serverHangingUpMidRequestIsPeerHungUp() throws {
        let (client, server) = try SeqPacketSocket.pair()
        defer { client.close() }
        server.close()
        #expect(throws: ProtocolError.peerHungUp) { try RequestClient(socket: client).call(EchoRequest(payload: [])) }
    }
}
