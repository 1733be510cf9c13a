import Foundation
import Testing
import TestSupport

/// The real parent and worker with a stand-in helper (Fixtures/dying-helper.py) that dies by
/// SIGKILL at a chosen moment, so the order in which the parent sees the deaths is fixed.
/// Found by the fault storm (Tests/Storm/storm.py): a block helper killed mid-request made
/// the run exit 70 with only the worker's line, because the worker was reaped first.
@Suite(.serialized) struct HelperDeathTests {
    /// A --helpers directory with the real worker and helpers, and the stand-in as `role`.
    static func helpers(dying role: String) throws -> String {
        let directory = "/tmp/bulkhead-dying-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for program in ["bulkhead-worker", "bulkhead-block", "bulkhead-net", "bulkhead-exec"] where program != "bulkhead-\(role)" {
            try FileManager.default.createSymbolicLink(
                atPath: "\(directory)/\(program)", withDestinationPath: ParentRun.directory.appendingPathComponent(program).path)
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dying-helper.py")
        try FileManager.default.createSymbolicLink(atPath: "\(directory)/bulkhead-\(role)", withDestinationPath: script.path)
        return directory
    }

    @Test func aBlockHelperThatDiesMidRequestIsNamedAsTheCauseThoughTheWorkerEndedFirst() throws {
        let helpers = try Self.helpers(dying: "block")
        defer { try? FileManager.default.removeItem(atPath: helpers) }
        let disk = try HelperSupervisionTests.disk()
        let started = Date()
        let run = try ParentRun.run(["run", "--helpers", helpers, "--disk", disk, "--cmdline", "sleep=30000 poweroff"], timeout: 40)
        #expect(Date().timeIntervalSince(started) < 15, "the parent must not wait for the guest")
        #expect(run.status == 69, "\(run.errors)")
        #expect(run.errors.contains("bulkhead-worker: the block helper did not hand over \(disk)"), "\(run.errors)")
        #expect(
            run.errors.contains(/the block helper \(pid \d+\) was killed by signal 9 \(SIGKILL\) while the VM ran/), "\(run.errors)")
        #expect(!run.output.contains("slept"))
        #expect(run.survivors.isEmpty)
    }

    @Test func aHelperKilledDuringShutdownIsReportedAndTheGuestsStatusStands() throws {
        let helpers = try Self.helpers(dying: "exec")
        defer { try? FileManager.default.removeItem(atPath: helpers) }
        let run = try ParentRun.run(["run", "--helpers", helpers, "--hook", "up=/usr/bin/true", "--cmdline", "banner poweroff"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.errors.contains(/the exec helper \(pid \d+\) was killed by signal 9 \(SIGKILL\) during shutdown/), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }

    /// The helpers' ordinary end (they exit on hang-up) is not reported.
    @Test func helpersThatExitOnHangUpAreNotReported() throws {
        let tap = uniqueTapName("bhd")
        #expect(shell("ip tuntap add dev \(tap) mode tap") == 0)
        defer { _ = shell("ip link del \(tap)") }
        let run = try ParentRun.run([
            "run", "--disk", HelperSupervisionTests.disk(), "--net", "tap=\(tap)", "--hook", "up=/usr/bin/true",
            "--cmdline", "banner poweroff",
        ])
        #expect(run.status == 0, "\(run.errors)")
        #expect(!run.errors.contains("during shutdown"), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }
}
