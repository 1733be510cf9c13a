import Foundation
import Testing
import TestSupport

/// Hostile clients of the control socket: each gets errors, and neither stalls the VM nor
/// grows the sealed parent's memory; one that never reads its replies is dropped.
@Suite(.serialized) struct ControlHostileClientTests {
    /// A raw SOCK_SEQPACKET connection to `path` (blocking).
    static func connect(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    static func rss(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ")[1]) }
    }

    /// A `hello` request in protocol version 1, with `id`.
    static func hello(id: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [0x42, 0x48, 0x4C, 0x4B, 1, 0, 1, 0]
        bytes += withUnsafeBytes(of: id.littleEndian, Array.init)
        bytes += [1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 0, 1, 0, 0, 0]
        return bytes
    }

    @Test func malformedOversizedAndFloodingClientsGetErrorsAndTheGuestGoesOn() throws {
        let vm = try ControlledVM("hostile", ControlSocketTests.counting)
        guard vm.waitUntilServing(), vm.waitForTicks(2) else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let fd = Self.connect(vm.socketPath)
        #expect(fd >= 0)
        defer { close(fd) }
        var reply = [UInt8](repeating: 0, count: 9000)
        // Garbage, a truncated header, and a datagram over the 8192-byte limit: each answered.
        for datagram in [[UInt8](repeating: 0xAB, count: 100), [0x42, 0x48], [UInt8](repeating: 0, count: 8500)] {
            #expect(send(fd, datagram, datagram.count, 0) == datagram.count)
            let n = recv(fd, &reply, reply.count, 0)
            #expect(n >= 24 && reply[6] == 3, "an error reply (kind 3)")
        }
        // A flood of valid requests from one client: answered in order, the parent's RSS flat.
        let parent = vm.run.pid
        let before = Self.rss(of: parent) ?? 0
        for id in 1...5000 as ClosedRange<UInt32> {
            let request = Self.hello(id: id)
            #expect(send(fd, request, request.count, 0) == request.count)
            let n = recv(fd, &reply, reply.count, 0)
            guard n >= 24, reply[6] == 2, reply[8] == UInt8(id & 0xFF) else {
                Issue.record("request \(id) got no reply of its own")
                break
            }
        }
        let after = Self.rss(of: parent) ?? 0
        #expect(after - before < 2048, "the parent grew \(after - before) KiB over 5000 requests")
        let ticks = vm.ticks.count
        #expect(vm.waitForTicks(ticks + 2), "the guest kept running")

        // A client that sends and never reads: its replies fill its socket and it is dropped.
        let silent = Self.connect(vm.socketPath)
        #expect(silent >= 0)
        defer { close(silent) }
        var flags = fcntl(silent, F_GETFL)
        _ = fcntl(silent, F_SETFL, flags | O_NONBLOCK)
        var sent = 0
        var refusedSend = false
        let sending = Date().addingTimeInterval(10)
        while Date() < sending {
            let request = Self.hello(id: UInt32(sent + 1))
            if send(silent, request, request.count, Int32(MSG_NOSIGNAL)) == request.count {
                sent += 1
            } else if errno == EAGAIN {
                usleep(1000)  // the parent has not read yet
            } else {
                refusedSend = true  // EPIPE: the parent closed its end
                break
            }
        }
        flags = fcntl(silent, F_GETFL)
        _ = fcntl(silent, F_SETFL, flags & ~O_NONBLOCK)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Drain what was queued: the stream ends (0) once the parent has closed its end.
        var ended = false
        while true {
            let n = recv(silent, &reply, reply.count, 0)
            if n == 0 { ended = true }
            if n <= 0 { break }
        }
        #expect(refusedSend, "sending stopped working once the parent dropped the client (\(sent) requests sent)")
        #expect(ended, "the parent dropped the client that did not read (\(sent) requests sent)")
        #expect(try vm.ctl(["info"]).status == 0, "and goes on serving others")
        kill(vm.run.pid, SIGTERM)
        #expect(vm.finish().status == 143)
    }
}
