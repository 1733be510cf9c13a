import Foundation
import Testing
import TestSupport

/// Start-up of the helpers as the parent does it: each that has something to serve starts
/// and answers `hello`; one that fails or stays silent stops the run with status 69 and
/// nothing left behind.
@Suite(.serialized) struct HelperStartupTests {
    /// A --helpers directory with the real worker and a fake `bulkhead-block` script.
    static func fakeHelpers(blockScript: String) throws -> String {
        let directory = "/tmp/bulkhead-fake-helpers-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/bulkhead-worker", withDestinationPath: ParentRun.directory.appendingPathComponent("bulkhead-worker").path)
        try FixtureFile.write(directory + "/bulkhead-block", text: "#!/bin/sh\n" + blockScript + "\n", mode: 0o755)
        return directory
    }

    static func disk() throws -> String {
        let path = "/tmp/bulkhead-startup-disk-\(getpid()).img"
        if !FileManager.default.fileExists(atPath: path) {
            try HelperUserFiles.create(path, contents: Data(count: 4096))
        }
        return path
    }

    @Test func aSilentHelperFailsTheHandshakeWithinTheTimeout() throws {
        let helpers = try Self.fakeHelpers(blockScript: "exec sleep 30")
        defer { try? FileManager.default.removeItem(atPath: helpers) }
        let started = Date()
        let run = try ParentRun.run(["run", "--helpers", helpers, "--disk", Self.disk()], timeout: 20)
        #expect(run.status == 69, "\(run.errors)")
        #expect(Date().timeIntervalSince(started) < 6)
        #expect(run.errors.contains("block helper (pid"), "\(run.errors)")
        #expect(run.errors.contains("failed its handshake"), "\(run.errors)")
        #expect(run.output.isEmpty)
        #expect(run.survivors.isEmpty)
    }

    @Test func aHelperThatRefusesItsDeclarationStopsTheRun() throws {
        let helpers = try Self.fakeHelpers(blockScript: "echo 'bulkhead-block: bad declaration' >&2; exit 64")
        defer { try? FileManager.default.removeItem(atPath: helpers) }
        let run = try ParentRun.run(["run", "--helpers", helpers, "--disk", Self.disk()])
        #expect(run.status == 69, "\(run.errors)")
        #expect(run.errors.contains("bulkhead-block: bad declaration"))
        #expect(run.errors.contains("exited with status 64"), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }

    @Test func aDeclaredTapStartsTheNetHelper() throws {
        let tap = uniqueTapName("bhp")
        #expect(shell("ip tuntap add dev \(tap) mode tap") == 0)
        defer { _ = shell("ip link del \(tap)") }
        let running = try ParentRun.Running(["run", "--net", "tap=\(tap)", "--cmdline", "sleep=1000 poweroff"])
        var names: [String] = []
        let deadline = Date().addingTimeInterval(10)
        while !names.contains("bulkhead-net") && Date() < deadline {
            names = ParentRun.children(of: running.pid).map(ParentRun.comm)
            usleep(20_000)
        }
        #expect(names.contains("bulkhead-net"))
        let run = running.finish()
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }

    @Test func aMissingHelperExecutableIsAConfigurationError() throws {
        let helpers = try Self.fakeHelpers(blockScript: "exit 0")
        defer { try? FileManager.default.removeItem(atPath: helpers) }
        let run = try ParentRun.run(["run", "--helpers", helpers, "--net", "tap=bh-none0"])
        #expect(run.status == 65)
        #expect(run.errors.contains("\(helpers)/bulkhead-net: not found"), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }

}
