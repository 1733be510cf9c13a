import Foundation
import Testing
import TestSupport

/// With declarations the parent starts the helpers; when one dies the parent notices,
/// ends the rest and leaves nothing behind.
@Suite(.serialized) struct HelperSupervisionTests {
    static func disk() throws -> String {
        let path = "/tmp/bulkhead-parent-disk-\(getpid()).img"
        if !FileManager.default.fileExists(atPath: path) {
            try HelperUserFiles.create(path, contents: Data(count: 1 << 20))
        }
        return path
    }

    @Test func aDeclaredDiskStartsTheBlockHelper() throws {
        let running = try ParentRun.Running(["run", "--disk", Self.disk(), "--cmdline", "sleep=1500 poweroff"])
        var names: [String] = []
        let deadline = Date().addingTimeInterval(10)
        while !names.contains("bulkhead-block") && Date() < deadline {
            names = ParentRun.children(of: running.pid).map(ParentRun.comm)
            usleep(20_000)
        }
        #expect(names.contains("bulkhead-block"))
        let run = running.finish()
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }

    @Test(arguments: ["bulkhead-block", "bulkhead-net", "bulkhead-exec"])
    func sigkillOfAHelperEndsTheVMWithTheHelperFailureStatus(helper: String) throws {
        let tap = uniqueTapName("bhk")
        #expect(shell("ip tuntap add dev \(tap) mode tap") == 0)
        defer { _ = shell("ip link del \(tap)") }
        let running = try ParentRun.Running([
            "run", "--disk", Self.disk(), "--net", "tap=\(tap)", "--hook", "up=/usr/bin/true",
            "--cmdline", "sleep=5000 poweroff",
        ])
        var target: Int32?
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let children = ParentRun.children(of: running.pid)
            if children.map(ParentRun.comm).contains("bulkhead-worker") {
                target = children.first { ParentRun.comm($0) == helper }
                break
            }
            usleep(20_000)
        }
        let pid = try #require(target)
        usleep(200_000)
        let killedAt = Date()
        kill(pid, SIGKILL)
        let run = running.finish(timeout: 10)
        #expect(Date().timeIntervalSince(killedAt) < 3, "the parent must not wait for the guest")
        #expect(run.status == 69, "\(run.errors)")
        #expect(run.errors.contains("helper (pid \(pid)) was killed by signal 9 (SIGKILL) while the VM ran"), "\(run.errors)")
        #expect(!run.output.contains("slept"))
        #expect(run.survivors.isEmpty)
        // The tap is the operator's: the net helper attached it and created nothing.
        #expect(shell("ip link show \(tap) > /dev/null") == 0)
    }


    @Test func aLinuxKernelReachesTheWorkerThroughTheBlockHelper() throws {
        // A file that is not a kernel: the worker receives it from the block helper (the
        // loader then refuses it), which shows the path never reached the worker as a path.
        let path = "/tmp/bulkhead-parent-notakernel-\(getpid())"
        try FixtureFile.write(path, Data(repeating: 0x41, count: 8192))
        defer { unlink(path) }
        let run = try ParentRun.run(["run", "--kernel", path])
        #expect(run.status == 70, "\(run.errors)")
        #expect(run.errors.contains("bulkhead-worker: cannot build the VM"), "\(run.errors)")
        #expect(!run.errors.contains("did not hand over"), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }
}
