import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import Testing

/// The transport alone: SOCK_SEQPACKET datagrams with SCM_RIGHTS over a real socketpair.
@Suite struct SocketTests {
    @Test func datagramAndItsFDsArriveTogether() throws {
        try expectNoLeak { client, server, marker in
            try client.send([1, 2, 3], fds: [marker.write])
            var got = try server.receive()
            #expect(got.bytes == [1, 2, 3])
            #expect(got.fds.count == 1)
            #expect(got.fds.map(linkTarget) == [marker.target])
            #expect(!got.dataTruncated && !got.controlTruncated && !got.foreignControl)
            got.closeFDs()
        }
    }

    @Test func receivedFDsAreCloseOnExec() throws {
        try expectNoLeak { client, server, marker in
            try client.send([1], fds: [marker.read])
            var got = try server.receive()
            #expect(fcntlFlags(got.fds[0]) & FD_CLOEXEC != 0)
            got.closeFDs()
        }
    }

    @Test func moreFDsThanTheLimitSetControlTruncatedAndTheArrivedOnesCanAllBeClosed() throws {
        try expectNoLeak { client, server, marker in
            try client.send([1], fds: Array(repeating: marker.read, count: 7))
            var got = try server.receive()
            #expect(got.controlTruncated)
            #expect(got.fds.count == ProtocolLimits.maxFDs, "the kernel installs what fits, drops the rest")
            #expect(openFDCount(of: [marker.target]) == 2 + ProtocolLimits.maxFDs)
            got.closeFDs()
            #expect(openFDCount(of: [marker.target]) == 2)
        }
    }

    @Test func datagramOverTheBufferSetsDataTruncated() throws {
        try expectNoLeak { client, server, _ in
            try client.send(Array(repeating: 7, count: ProtocolLimits.maxMessageSize + 1))
            let got = try server.receive()
            #expect(got.dataTruncated)
            #expect(got.bytes.count == ProtocolLimits.maxMessageSize)
        }
    }

    @Test func datagramsKeepTheirBoundaries() throws {
        try expectNoLeak { client, server, _ in
            try client.send([1, 2])
            try client.send([3])
            #expect(try server.receive().bytes == [1, 2])
            #expect(try server.receive().bytes == [3])
        }
    }

    @Test func hangUpReadsAsAnEmptyDatagram() throws {
        let (client, server) = try SeqPacketSocket.pair()
        defer { server.close() }
        client.close()
        #expect(try server.receive().isHangUp)
    }

    @Test func sendingToAPeerThatHungUpIsEPIPENotASignal() throws {
        let (client, server) = try SeqPacketSocket.pair()
        defer { client.close() }
        server.close()
        #expect(throws: ProtocolError.socket(call: "sendmsg", errno: .brokenPipe)) { try client.send([1]) }
    }

    @Test func receiveTimeoutEndsAWaitWithEAGAIN() throws {
        let (client, server) = try SeqPacketSocket.pair()
        defer { client.close(); server.close() }
        try server.setReceiveTimeout(microseconds: 20_000)
        #expect(throws: ProtocolError.socket(call: "recvmsg", errno: .resourceTemporarilyUnavailable)) {
            try server.receive()
        }
    }

    @Test func onlyAnAFUnixSeqPacketSocketIsAcceptedAsAnInheritedEnd() throws {
        let (a, b) = try SeqPacketSocket.pair()
        defer { a.close(); b.close() }
        #expect(try SeqPacketSocket(validating: a.fileDescriptor) == a)
        let marker = MarkerPipe()
        defer { marker.close() }
        #expect(throws: ProtocolError.socket(call: "getsockopt(SO_TYPE)", errno: .protocolWrongTypeForSocket)) {
            try SeqPacketSocket(validating: marker.read)
        }
        var stream: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &stream) == 0)
        defer { close(stream[0]); close(stream[1]) }
        #expect(throws: ProtocolError.socket(call: "getsockopt(SO_TYPE)", errno: .protocolWrongTypeForSocket)) {
            try SeqPacketSocket(validating: FileDescriptor(rawValue: stream[0]))
        }
        #expect(throws: ProtocolError.socket(call: "getsockopt(SO_TYPE)", errno: .badFileDescriptor)) {
            try SeqPacketSocket(validating: FileDescriptor(rawValue: 1_000_000))
        }
    }

    func fcntlFlags(_ fd: FileDescriptor) -> Int32 {
        // fcntl is variadic in C; F_GETFD through /proc instead: fdinfo's flags are octal.
        let text = (try? String(contentsOfFile: "/proc/self/fdinfo/\(fd.rawValue)", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("flags:") } ?? "flags: 0"
        let octal = Int32(line.split(separator: "\t").last.map(String.init) ?? "0", radix: 8) ?? 0
        return octal & O_CLOEXEC != 0 ? FD_CLOEXEC : 0
    }
}
