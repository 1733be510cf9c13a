import BulkheadProtocol
import Foundation
import Glibc
import Testing
import TestSupport

/// A helper run as a socket-activated service (DESIGN.md §8), started by
/// systemd-socket-activate exactly as systemd starts the generated units.
@Suite(.serialized) struct SocketActivationTests {
    /// A disk image and a `--config` file declaring it read-only.
    static func blockFixture(_ scratch: ScratchDirectory) throws -> (disk: String, config: String) {
        let disk = try scratch.write("disk.img", String(repeating: "x", count: 4096))
        let config = try scratch.write("block.conf", "# test\nfile ro:\(disk)\n")
        return (disk, config)
    }

    @Test func activatedBlockHelperServesTwoSuccessiveVMSessions() throws {
        let scratch = try ScratchDirectory()
        let (disk, config) = try Self.blockFixture(scratch)
        let helper = try ActivatedHelper(
            program: "bulkhead-block", socketPath: scratch.path + "/block.sock", arguments: ["--listen", "--config", config])
        for _ in 0..<2 {
            let socket = try connectSeqPacket(to: helper.socketPath)
            let client = RequestClient(socket: socket)
            #expect(try client.hello().helper == "bulkhead-block")
            let response = try client.call(BlockOpenRequest(path: disk, access: .readOnly))
            #expect(response.fds.count == 1 && response.reply.size == 4096)
            for fd in response.fds { try fd.close() }
            // Not declared: refused in this session, which goes on.
            #expect(throws: ProtocolError.self) { _ = try client.call(BlockOpenRequest(path: config, access: .readOnly)) }
            socket.close()
        }
        let status = try String(contentsOfFile: "/proc/\(helper.pid)/status", encoding: .utf8)
        #expect(status.contains("Seccomp:\t2") && status.contains("NoNewPrivs:\t1"))
        #expect(helper.stop() == 0)
    }

    @Test func notifySocketGetsReadyAfterConfinementThenStatusAndStopping() throws {
        let scratch = try ScratchDirectory()
        let (disk, config) = try Self.blockFixture(scratch)
        let notify = try NotifyListener(path: scratch.path + "/notify.sock")
        let helper = try ActivatedHelper(
            program: "bulkhead-block", socketPath: scratch.path + "/block.sock", notifySocket: notify.path,
            arguments: ["--listen", "--config", config])
        let socket = try connectSeqPacket(to: helper.socketPath)  // the first connection starts it
        let ready = try #require(notify.next())
        #expect(ready.hasPrefix("READY=1\nSTATUS=waiting for a connection"), "\(ready)")
        // READY=1 comes only once the helper has confined itself.
        let status = try String(contentsOfFile: "/proc/\(helper.pid)/status", encoding: .utf8)
        #expect(status.contains("Seccomp:\t2"))

        let client = RequestClient(socket: socket)
        _ = try client.hello()
        let response = try client.call(BlockOpenRequest(path: disk, access: .readOnly))
        for fd in response.fds { try fd.close() }
        #expect(notify.until("STATUS=serving session 1, 1 session, 1 request") != nil)
        socket.close()
        #expect(notify.until("STATUS=waiting for a connection, 1 session, 1 request") != nil)
        #expect(helper.stop() == 0)
        #expect(notify.until("STOPPING=1") != nil)
    }

    @Test func abstractNotifySocketNamesWork() throws {
        let scratch = try ScratchDirectory()
        let (_, config) = try Self.blockFixture(scratch)
        let name = "bh-notify-test-\(getpid())"
        let listener = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in name.utf8.enumerated() { raw[i + 1] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + name.utf8.count)
        #expect(withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } } == 0)
        let helper = try ActivatedHelper(
            program: "bulkhead-block", socketPath: scratch.path + "/block.sock", notifySocket: "@" + name,
            arguments: ["--listen", "--config", config])
        let connection = try connectSeqPacket(to: helper.socketPath)
        defer { connection.close() }
        var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        #expect(poll(&poller, 1, 20_000) == 1)
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(listener, &buffer, buffer.count, 0)
        #expect(count > 0 && String(decoding: buffer[..<max(count, 0)], as: UTF8.self).hasPrefix("READY=1"))
        #expect(helper.stop() == 0)
    }

    @Test func listenWithoutASocketFromTheManagerExits64() throws {
        let result = try runToEnd(BuiltProducts.path("bulkhead-block"), ["--listen"])
        #expect(result.status == 64 && result.output.contains("--listen: no socket was passed"), "\(result.output)")
    }

    @Test func aConfigFileWithAnUnknownKeyExits64NamingTheLine() throws {
        let scratch = try ScratchDirectory()
        let config = try scratch.write("bad.conf", "file ro:/etc/hostname\ntap tap0\n")
        let result = try runToEnd(BuiltProducts.path("bulkhead-block"), ["--socket-fd", "3", "--config", config])
        #expect(result.status == 64 && result.output.contains("line 2: unknown key"), "\(result.output)")
    }
}
