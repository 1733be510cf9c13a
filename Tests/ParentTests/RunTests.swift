import Foundation
import Testing
import TestSupport

/// `bulkhead run` end to end: the real parent, worker and (when declared) helpers.
@Suite(.serialized) struct RunTests {
    @Test func runWithNoOptionsBootsTheTestGuestAndExitsZero() throws {
        let run = try ParentRun.run(["run"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("bulkhead test guest"))
        #expect(run.survivors.isEmpty)
    }

    @Test func twoVCPUsCheckIn() throws {
        let run = try ParentRun.run(["run", "--cpus", "2", "--cmdline", "banner cpus poweroff"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines.contains("cpus: 2"))
        #expect(run.survivors.isEmpty)
    }

    @Test func guestFailureStatusIsTheExitStatus() throws {
        let run = try ParentRun.run(["run", "--cmdline", "no-such-step"])
        #expect(run.status == 1)
        #expect(run.output.contains("error"))
    }

    @Test func consoleFileGetsTheGuestOutput() throws {
        let path = "/tmp/bulkhead-parent-console-\(getpid()).txt"
        defer { unlink(path) }
        let run = try ParentRun.run(["run", "--console", path])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.isEmpty)
        #expect((try? String(contentsOfFile: path, encoding: .utf8))?.contains("bulkhead test guest") == true)
    }

    @Test func consoleNoneDiscardsTheOutput() throws {
        let run = try ParentRun.run(["run", "--console", "none"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.isEmpty)
    }

    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func aSignalToTheParentEndsTheVMAndLeavesNothing(signal: Int32) throws {
        let disk = "/tmp/bulkhead-signal-\(getpid())-\(signal).img"
        try HelperUserFiles.create(disk, contents: Data(count: 4096))
        defer { unlink(disk) }
        let running = try ParentRun.Running(["run", "--disk", disk, "--cmdline", "sleep=20000 poweroff"])
        let deadline = Date().addingTimeInterval(10)
        while ParentRun.children(of: running.pid).count < 2 && Date() < deadline { usleep(20_000) }
        usleep(200_000)
        kill(running.pid, signal)
        let run = running.finish(timeout: 10)
        #expect(!run.signaled)
        #expect(run.status == 128 + signal, "\(run.errors)")
        #expect(run.errors.contains("received: the VM was stopped"), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }
}
