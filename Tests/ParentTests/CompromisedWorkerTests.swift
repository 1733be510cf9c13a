import Foundation
import Testing
import TestSupport

/// The real parent and real helpers, with a stand-in worker (Fixtures/compromised-worker.py,
/// written from PROTOCOL.md alone) that acts like a worker the guest took over: through the
/// sockets the parent handed it, it gets exactly what was declared and nothing else.
@Suite(.serialized) struct CompromisedWorkerTests {
    static func helpersWithCompromisedWorker() throws -> String {
        let directory = "/tmp/bulkhead-compromised-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for helper in ["block", "net", "exec"] {
            try FileManager.default.createSymbolicLink(
                atPath: "\(directory)/bulkhead-\(helper)",
                withDestinationPath: ParentRun.directory.appendingPathComponent("bulkhead-\(helper)").path)
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/compromised-worker.py")
        try FileManager.default.createSymbolicLink(atPath: "\(directory)/bulkhead-worker", withDestinationPath: script.path)
        return directory
    }


    @Test func compromisedWorkerGetsOnlyTheDeclaredFileAndTapWithTheirDeclaredAccess() throws {
        let helpers = try Self.helpersWithCompromisedWorker()
        defer { try? FileManager.default.removeItem(atPath: helpers) }
        let disk = "/tmp/bulkhead-compromised-\(getpid()).img"
        try FixtureFile.write(disk, Data(count: 4096))
        defer { unlink(disk) }
        let tap = uniqueTapName("bhc")
        #expect(shell("ip tuntap add dev \(tap) mode tap") == 0)
        defer { _ = shell("ip link del \(tap)") }

        let run = try ParentRun.run(["run", "--helpers", helpers, "--disk", "\(disk),readonly", "--net", "tap=\(tap)"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines.contains("hello block: reply"), "\(run.output)")
        #expect(run.lines.contains("block.open \(disk) ro: reply: 1 fd"), "\(run.output)")
        #expect(run.lines.contains { $0.hasPrefix("block.open \(disk) rw: error: ") && $0.contains("declared read-only") }, "\(run.output)")
        for path in ["/etc/shadow", "/proc/self/root/etc/shadow", "/dev/kvm"] {
            #expect(run.lines.contains { $0.hasPrefix("block.open \(path) ro: error: ") }, "\(path): \(run.output)")
        }
        #expect(run.lines.contains("net.open-tap \(tap): reply: 1 fd"), "\(run.output)")
        for name in ["eth0", "lo"] {
            #expect(run.lines.contains { $0.hasPrefix("net.open-tap \(name): error: ") }, "\(name): \(run.output)")
        }
        #expect(run.survivors.isEmpty)
    }
}
