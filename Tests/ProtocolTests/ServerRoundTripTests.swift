import BulkheadProtocol
import SystemPackage
import Testing

/// Good requests through a real socketpair, a RequestServer thread and a RequestClient.
@Suite struct ServerRoundTripTests {
    @Test func helloReturnsTheHelpersNameVersionAndLimits() throws {
        try expectNoLeak { client, server, _ in
            let thread = ServerThread(socket: server, helper: .net)
            let hello = try RequestClient(socket: client).hello()
            #expect(hello == HelloReply(helper: "bulkhead-test", version: 1, maxMessage: 8192, maxFDs: 4, maxField: 4096))
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }

    @Test func echoIsDeniedUnlessTestOnlyIsAllowed() throws {
        try expectNoLeak { client, server, _ in
            let thread = ServerThread(socket: server, deniedGroups: [.testOnly])
            #expect(throws: ProtocolError.remote(code: 14, message: "echo is in feature group test-only, which is denied here")) {
                try RequestClient(socket: client).call(EchoRequest(payload: [1]))
            }
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }

    @Test func blockOpenReplyCarriesExactlyOneFDAndTheServerClosesItsCopy() throws {
        try expectNoLeak { client, server, marker in
            let thread = ServerThread(socket: server, helper: .block) { request in
                let open = try request.decode(BlockOpenRequest.self)
                #expect(open == BlockOpenRequest(path: "/var/lib/vm/disk.img", access: .readOnly))
                let fd = try marker.read.duplicate()
                return Reply(BlockOpenReply(size: 4096, access: .readOnly, kind: .file), fds: [fd])
            }
            let response = try RequestClient(socket: client).call(BlockOpenRequest(path: "/var/lib/vm/disk.img", access: .readOnly))
            #expect(response.reply == BlockOpenReply(size: 4096, access: .readOnly, kind: .file))
            #expect(response.fds.map(linkTarget) == [marker.target])
            for fd in response.fds { try fd.close() }
            client.close()
            #expect(thread.finish() == .peerHungUp)
            #expect(openFDCount(of: [marker.target]) == 2, "the server's copy was closed after sendmsg")
        }
    }

    @Test func handlerRefusalReachesTheClientWithItsReason() throws {
        try expectNoLeak { client, server, _ in
            let thread = ServerThread(socket: server, helper: .net) { _ in throw Refusal("tap9 is not declared") }
            #expect(throws: ProtocolError.remote(code: 16, message: "refused: tap9 is not declared")) {
                try RequestClient(socket: client).call(NetOpenTapRequest(name: "tap9"))
            }
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }

    @Test func handlerReplyWithTheWrongFDCountIsAnInternalErrorAndItsFDsAreClosed() throws {
        try expectNoLeak { client, server, marker in
            let thread = ServerThread(socket: server, helper: .block) { _ in
                Reply(BlockOpenReply(size: 0, access: .readOnly, kind: .file), fds: [try marker.read.duplicate(), try marker.write.duplicate()])
            }
            #expect(throws: ProtocolError.remote(code: 17, message: "internal error: block.open reply has 2 fds, the catalog says 1")) {
                try RequestClient(socket: client).call(BlockOpenRequest(path: "/d", access: .readOnly))
            }
            #expect(openFDCount(of: [marker.target]) == 2)
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }

    @Test func handlerReplyOfTheWrongShapeIsAnInternalError() throws {
        try expectNoLeak { client, server, _ in
            let thread = ServerThread(socket: server, helper: .net) { _ in Reply(EchoReply(payload: [1]), fds: []) }
            #expect(throws: ProtocolError.self) {
                try RequestClient(socket: client).call(NetOpenTapRequest(name: "tap0"))
            }
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }

    @Test func execRunHookRoundTripsItsFullReply() throws {
        try expectNoLeak { client, server, _ in
            let thread = ServerThread(socket: server, helper: .exec) { request in
                let run = try request.decode(ExecRunHookRequest.self)
                return Reply(ExecRunHookReply(
                    exitStatus: Int32(run.arguments.count), signal: 0, stdout: Array(run.hook.utf8), truncated: false,
                    timedOut: false))
            }
            let reply = try RequestClient(socket: client).call(ExecRunHookRequest(hook: "net-up", arguments: ["a", "b"])).reply
            #expect(reply == ExecRunHookReply(exitStatus: 2, signal: 0, stdout: Array("net-up".utf8), truncated: false, timedOut: false))
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }

    @Test func manyRequestsInARowKeepTheirIDsApart() throws {
        try expectNoLeak { client, server, _ in
            let thread = ServerThread(socket: server, deniedGroups: [])
            let requests = RequestClient(socket: client)
            for i in 0..<200 {
                let payload = (0..<(i % 50)).map { UInt8(truncatingIfNeeded: $0 &+ i) }
                let echoed = try requests.call(EchoRequest(payload: payload)).reply.payload
                #expect(echoed == payload)
            }
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }

    @Test func aMaximalEchoFitsTheLimits() throws {
        try expectNoLeak { client, server, _ in
            let thread = ServerThread(socket: server, deniedGroups: [])
            let payload = Array(repeating: UInt8(0xAB), count: ProtocolLimits.maxFieldLength)
            let echoed = try RequestClient(socket: client).call(EchoRequest(payload: payload)).reply.payload
            #expect(echoed == payload)
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }
}
