import BulkheadProtocol
import Testing

/// A small deterministic generator (SplitMix64), so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Valid messages with random bytes flipped, cut or appended: the decoders must answer
/// with an error or a value, never trap, and the server must answer every one of them.
@Suite struct FuzzTests {
    static let validBodies: [(CommandSpec, [UInt8])] = [
        (CommandCatalog.hello, HelloRequest().body),
        (CommandCatalog.echo, EchoRequest(payload: [1, 2, 3]).body),
        (CommandCatalog.blockOpen, BlockOpenRequest(path: "/var/lib/vm/disk.img", access: .readWrite).body),
        (CommandCatalog.netOpenTap, NetOpenTapRequest(name: "tap0").body),
        (CommandCatalog.execRunHook, ExecRunHookRequest(hook: "up", arguments: ["a", "bb", ""]).body),
    ]

    static func mutate(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var out = bytes
        switch rng.next() % 4 {
        case 0 where !out.isEmpty:
            for _ in 0...(rng.next() % 3) { out[Int(rng.next() % UInt64(out.count))] = UInt8(truncatingIfNeeded: rng.next()) }
        case 1 where !out.isEmpty: out.removeLast(Int(rng.next() % UInt64(out.count)) + 1)
        case 2: out += (0..<(rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        default:
            // A length field set to a large or boundary value.
            if out.count >= 5 {
                let at = 1 + Int(rng.next() % UInt64(out.count - 4))
                let values: [UInt32] = [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 4096, 4097, 8168]
                let value = values[Int(rng.next() % UInt64(values.count))]
                if at + 4 <= out.count { for i in 0..<4 { out[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) } }
            }
        }
        return out
    }

    @Test func mutatedBodiesNeverTrapTheDecoders() {
        var rng = SplitMix64(state: 0xB0_1C_4EAD)
        var rejected = 0
        for _ in 0..<20_000 {
            let (command, body) = Self.validBodies[Int(rng.next() % UInt64(Self.validBodies.count))]
            let mutated = Self.mutate(body, &rng)
            for spec in CommandCatalog.all {
                do { try BodyReader.validate(mutated, against: spec.arguments) } catch {
                    if case .malformedBody = error {} else { Issue.record("unexpected \(error)") }
                    if spec == command { rejected += 1 }
                }
            }
            _ = try? BlockOpenRequest.decode(mutated)
            _ = try? ExecRunHookRequest.decode(mutated)
            _ = try? NetOpenTapRequest.decode(mutated)
        }
        #expect(rejected > 10_000, "most mutations are caught")
    }

    @Test func mutatedDatagramsAllGetAnAnswerAndTheServerKeepsServing() throws {
        var rng = SplitMix64(state: 42)
        try expectNoLeak { client, server, marker in
            let thread = ServerThread(socket: server, helper: .block, deniedGroups: []) { _ in throw Refusal("no") }
            var answered = 0
            for i in 0..<1_000 {
                let (command, body) = Self.validBodies[Int(rng.next() % UInt64(Self.validBodies.count))]
                var datagram = MessageHeader.datagram(kind: .request, requestID: UInt32(i + 1), commandID: command.id, body: body, fdCount: 0)
                datagram = Self.mutate(datagram, &rng)
                // Never a wrong version: that one ends the connection by design.
                if datagram.count >= 6 { datagram[4] = 1; datagram[5] = 0 }
                if datagram.isEmpty { datagram = [0] }  // an empty datagram is a hang-up
                let fds = Int(rng.next() % 3)
                try client.send(datagram, fds: Array(repeating: marker.read, count: fds))
                try client.setReceiveTimeout(microseconds: 5_000_000)
                var reply = try client.receive()
                #expect(!reply.isHangUp)
                reply.closeFDs()
                answered += 1
            }
            #expect(answered == 1_000)
            #expect(openFDCount(of: [marker.target]) == 2, "every fd sent was closed")
            #expect(try RequestClient(socket: client).hello().helper == "bulkhead-test")
            client.close()
            #expect(thread.finish() == .peerHungUp)
        }
    }
}
