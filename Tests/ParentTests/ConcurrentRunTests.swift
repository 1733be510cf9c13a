import Foundation
import Testing
import TestSupport

/// Many VMs started at the same moment each get a worker uid of their own (README: Security
/// model). Found by the load test (Tests/Storm/load.py): with 16 VMs started at once a prune
/// by one `bulkhead run` removed another's fresh uid claim, a third VM claimed the same uid,
/// and on their shared RLIMIT_NPROC one worker failed with "pthread_create failed".
@Suite struct ConcurrentRunTests {
    /// One pass over /proc: the uid of each running worker, by the BULKHEAD_RUN parent pid in
    /// its environment (the worker takes its uid before it starts the guest).
    static func workerUids() -> [Int32: String] {
        var found: [Int32: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int32(entry) != nil {
            guard ParentRun.comm(Int32(entry)!) == "bulkhead-worker",
                let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
                let uid = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })?.split(separator: "\t").dropFirst().first
            else { continue }
            for variable in environ.split(separator: 0) where variable.starts(with: Array("BULKHEAD_RUN=".utf8)) {
                if let parent = Int32(String(decoding: variable.dropFirst(13), as: UTF8.self)) { found[parent] = String(uid) }
            }
        }
        return found
    }

    /// The shell's child `cat` is blocked in open(2) of the FIFO.
    static func waitsAtTheGate(_ shell: Int32) -> Bool {
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").contains { ParentRun.comm(Int32($0) ?? 0) == "cat" }
    }

    @Test func sixteenVMsStartedAtOnceHaveSixteenWorkerUidsAndAllPowerOff() throws {
        // 16 spinning guests take both cores for seconds: not beside a timed Linux boot.
        try withKernelBootLock {
            let count = 16
            // Each shell waits at a FIFO, then execs `bulkhead run` (keeping its pid): opening
            // and closing the FIFO's write end lets all 16 start registering at once.
            let gate = "/tmp/bulkhead-concurrent-\(getpid())"
            unlink(gate)
            try #require(mkfifo(gate, 0o600) == 0)
            defer { unlink(gate) }
            let runs = try (0..<count).map { _ in
                try ParentRun.Running(
                    ["-c", "cat \(gate) > /dev/null; exec '\(ParentRun.executable)' run --cmdline 'banner sleep=5000 poweroff'"],
                    executable: "/bin/sh")
            }
            while runs.contains(where: { ParentRun.comm($0.pid) == "sh" && !Self.waitsAtTheGate($0.pid) }) { usleep(10_000) }
            let opener = open(gate, O_WRONLY)  // every shell's cat is blocked opening it for reading
            close(opener)
            var uids: [Int32: String] = [:]  // parent pid -> its worker's uid
            let deadline = Date().addingTimeInterval(30)
            while uids.count < count && Date() < deadline && runs.contains(where: { $0.process.isRunning }) {
                for (parent, uid) in Self.workerUids() where uid != "0" && runs.contains(where: { $0.pid == parent }) {
                    uids[parent] = uid
                }
                usleep(50_000)
            }
            let results = runs.map { $0.finish() }
            #expect(uids.count == count, "workers seen with their uid: \(uids.count)")
            #expect(Set(uids.values).count == uids.count, "shared uids: \(uids.values.sorted())")
            for run in results {
                #expect(run.status == 0, "\(run.errors)")
                #expect(run.output.contains("slept 5000 ms"))
                #expect(run.survivors.isEmpty)
            }
        }
    }
}
