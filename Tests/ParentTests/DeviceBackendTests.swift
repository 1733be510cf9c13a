import Foundation
import Testing
import TestSupport

/// Disks and taps declared to `bulkhead run` reach the guest as virtio devices over fds the
/// worker asked the helpers for: the parent never opens them, the worker never opens a path.
@Suite(.serialized) struct DeviceBackendTests {

    static func sha256(_ path: String) -> String {
        let process = Process()
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        process.standardOutput = out
        try? process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }

    @Test func readOnlyDiskIsReadByTheGuestAndRefusesWrites() throws {
        let path = "/tmp/bulkhead-parent-ro-\(getpid()).img"
        try HelperUserFiles.create(path, contents: Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        defer { unlink(path) }
        let before = Self.sha256(path)
        let run = try ParentRun.run(["run", "--disk", "\(path),readonly", "--cmdline", "blk-sha256=0 blk-write=0 poweroff"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines.contains("blk 0 sha256 \(before)"), "\(run.output)")
        #expect(run.lines.contains { $0.hasPrefix("blk 0 (read-only) write 1048576 bytes: status 1") }, "\(run.output)")
        #expect(Self.sha256(path) == before)
        #expect(run.survivors.isEmpty)
    }

    @Test func readWriteDiskIsWrittenByTheGuest() throws {
        let path = "/tmp/bulkhead-parent-rw-\(getpid()).img"
        try HelperUserFiles.create(path, contents: Data(count: 1 << 20))
        defer { unlink(path) }
        let run = try ParentRun.run(["run", "--disk", path, "--cmdline", "blk-write=0 poweroff"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines.contains("blk 0 write 1048576 bytes: status 0, flush status 0"), "\(run.output)")
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.prefix(4) == Data([0, 7, 14, 21]))  // (i*7 + (i>>10)) & 0xff
        #expect(run.survivors.isEmpty)
    }

    @Test func guestPingsTheHostOverADeclaredTap() throws {
        let tap = uniqueTapName("bhn")
        let subnet = "10.\(200 + getpid() % 50).\(getpid() % 250)"
        #expect(shell("ip tuntap add dev \(tap) mode tap && ip addr add \(subnet).1/24 dev \(tap) && ip link set \(tap) up") == 0)
        defer { _ = shell("ip link del \(tap)") }
        let run = try ParentRun.run(
            ["run", "--net", "tap=\(tap),mac=52:54:00:12:34:77", "--cmdline", "net-ip=\(subnet).2 net-ping=\(subnet).1 poweroff"],
            timeout: 30)
        #expect(run.status == 0, "\(run.output) \(run.errors)")
        #expect(run.lines.contains("net-ping \(subnet).1: 3 sent, 3 received"), "\(run.output)")
        #expect(run.survivors.isEmpty)
    }
}
