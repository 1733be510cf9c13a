import Foundation
import Testing

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

    @Test func sigtermToTheParentEndsTheVMAndLeavesNothing() throws {
        let running = try ParentRun.Running(["run", "--cmdline", "sleep=20000 poweroff"])
        let deadline = Date().addingTimeInterval(10)
        while ParentRun.children(of: running.pid).isEmpty && Date() < deadline { usleep(20_000) }
        usleep(200_000)
        kill(running.pid, SIGTERM)
        let run = running.finish(timeout: 10)
        #expect(run.status == 143, "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }
}
