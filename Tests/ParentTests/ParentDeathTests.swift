import Foundation
import Glibc
import Testing

/// A `bulkhead run` parent killed with SIGKILL (no handler, no clean-up) leaves no worker or
/// helper running. The sealed parent holds no CAP_KILL, so the kernel does not deliver the
/// children's PR_SET_PDEATHSIG to a worker under another uid: each child ends at the end of
/// file of its socket to the parent. (A worker used to spin on that end of file for ever.)
@Suite struct ParentDeathTests {
    @Test func aSIGKILLedParentLeavesNoWorkerOrHelperRunning() throws {
        var arguments = ["run", "--disk", try HelperSupervisionTests.disk(), "--cmdline", "banner sleep=30000 poweroff"]
        if geteuid() == 0 {
            let uid = 960_000 + Int(getpid()) % 30_000  // a worker uid no other suite's run uses
            arguments += ["--uid-range", "\(uid)-\(uid)"]
        }
        let run = try ParentRun.Running(arguments)
        let deadline = Date().addingTimeInterval(20)
        var children: [Int32] = []
        while Date() < deadline {
            children = ParentRun.children(of: run.pid)
            if children.map(ParentRun.comm).contains("bulkhead-worker") && children.map(ParentRun.comm).contains("bulkhead-block") { break }
            usleep(20_000)
        }
        try #require(children.map(ParentRun.comm).contains("bulkhead-worker"), "the VM started: \(children.map(ParentRun.comm))")
        usleep(200_000)  // the guest runs its sleep
        kill(run.pid, SIGKILL)
        _ = run.finish(timeout: 10)
        // ParentRun.children finds a process by its environment, which a zombie (waiting
        // for its reaper, running nothing) no longer shows.
        let gone = Date().addingTimeInterval(10)
        var running = ParentRun.children(of: run.pid)
        while Date() < gone && !running.isEmpty {
            usleep(20_000)
            running = ParentRun.children(of: run.pid)
        }
        #expect(running.isEmpty, "still running after the parent's SIGKILL: \(running.map { "\($0) \(ParentRun.comm($0))" })")
        for pid in running { kill(pid, SIGKILL) }
    }
}
