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

    /// The shell's child `flock` is waiting for the gate.
    static func waitsAtTheGate(_ shell: Int32) -> Bool {
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").contains { ParentRun.comm(Int32($0) ?? 0) == "flock" }
    }

    @Test func sixteenVMsStartedAtOnceHaveSixteenWorkerUidsAndAllPowerOff() throws {
        // 16 spinning guests take both cores for seconds: not beside a timed Linux boot.
        try withKernelBootLock {
            let count = 16
            // Each shell waits for a shared lock on the gate this test holds exclusively, then
            // execs `bulkhead run` (keeping its pid): unlocking lets all 16 register at once. A
            // lock, not a FIFO: a shell that reaches the gate after it opened goes straight on
            // (a late reader of a FIFO whose writer has gone would wait for ever, holding the
            // run's output pipe open).
            let gate = "/tmp/bulkhead-concurrent-\(getpid())"
            let lock = open(gate, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            try #require(lock >= 0 && flock(lock, LOCK_EX) == 0)
            defer {
                close(lock)
                unlink(gate)
            }
            let runs = try (0..<count).map { _ in
                try ParentRun.Running(
                    ["-c", "flock -s \(gate) true; exec '\(ParentRun.executable)' run --cmdline 'banner sleep=5000 poweroff'"],
                    executable: "/bin/sh")
            }
            let waitLimit = Date().addingTimeInterval(10)
            while Date() < waitLimit && runs.contains(where: { ParentRun.comm($0.pid) == "sh" && !Self.waitsAtTheGate($0.pid) }) {
                usleep(10_000)
            }
            flock(lock, LOCK_UN)
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
