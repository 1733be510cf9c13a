import Foundation
import Testing
import TestSupport

/// The shortened fault storm and load test in the normal test run: the same drivers as
/// `make storm` and `make load` (Tests/Storm/), with fewer runs. Each prints its whole report;
/// a failure shows it, with the seed that reproduces the storm's plan.
@Suite(.serialized) struct StormTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Storm")

    /// Runs a driver to its end and returns its exit status and output. Under the machine-wide
    /// Linux boot lock: many spinning guests take both cores, not beside a timed Linux boot.
    static func drive(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try withKernelBootLock { try unlockedDrive(script, arguments) }
    }

    private static func unlockedDrive(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runToEnd("/usr/bin/python3", [Self.scripts.appendingPathComponent(script).path, "--bin", BuiltProducts.directory] + arguments)
    }

    /// 3 SIGKILLs per process (parent, worker, block, net, exec) at random moments, plus 3 of
    /// the block helper while the worker asks it for seven disks, plus 3 of the exec helper
    /// while a `started` hook runs (its process group must go too): each run ends promptly, says
    /// what happened and leaves no process, tap attachment, runtime entry, socket or cgroup.
    @Test func shortenedFaultStormLeavesNothingAndSaysWhatHappened() throws {
        let seed = ProcessInfo.processInfo.environment["BULKHEAD_STORM_SEED"] ?? String(UInt32.random(in: 0...UInt32.max))
        let (status, output) = try Self.drive("storm.py", [
            "--per-victim", "3", "--mid-request", "3", "--mid-hook", "3", "--seed", seed,
        ])
        #expect(status == 0, "storm seed \(seed):\n\(output)")
        #expect(output.contains("storm: PASS"), "\(output)")
        #expect(output.contains("kills 21, failed 0"), "\(output)")
    }

    /// 16 VMs at once, then 40 one after the other: all correct, nothing left, each process's
    /// fd count the same in every run (the host figures are printed, judged only by `make load`).
    @Test func shortenedLoadAllFinishCorrectlyAndLeaveNothing() throws {
        let (status, output) = try Self.drive(
            "load.py", ["--concurrent", "16", "--concurrent-sleep-ms", "1000", "--sequential", "40", "--every", "10"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("16 finished correctly"), "\(output)")
        #expect(output.contains("load: PASS"), "\(output)")
    }
}
