import Foundation
import Testing

/// The sealed parent reads the worker's report pipe (fd 4 in the worker) into a bounded line
/// buffer (ChildLines): a worker the guest took over (here: the escape probe, whose vCPU thread
/// may write(2) to any fd) can neither grow the root parent without limit nor write lines to
/// the operator's terminal that look like the parent's own or carry escape sequences.
@Suite(.serialized) struct ReportFloodTests {
    /// VmRSS of `pid` in KiB, nil once it is gone.
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    @Test func aWorkerWritingWithoutNewlinesIsEndedAndTheParentStaysFlat() throws {
        // 2 MiB of guest RAM past the image (zero bytes, no newline) in one write to the report
        // pipe, after 3 s in which the parent's resident size is taken.
        let flood = 2 << 20
        let steps = "banner sleep=3000 escape=write,4,ptr:0x1000000:\(flood),\(flood) banner poweroff"
        let running = try ParentRun.Running(["run", "--allow-insecure", "--device", "escape-probe", "--cmdline", steps])
        var before: Int?
        var peak = 0
        let started = Date()
        while running.process.isRunning {
            if before == nil, !ParentRun.children(of: running.pid).isEmpty, Date().timeIntervalSince(started) > 1.5 {
                before = Self.residentKiB(running.pid)
            }
            if before != nil, let now = Self.residentKiB(running.pid) { peak = max(peak, now) }
            usleep(5_000)
        }
        let run = running.finish()
        let baseline = try #require(before, "the run ended before the parent's size was taken: \(run.errors)")
        #expect(run.status == 70, "\(run.errors)")
        #expect(
            run.errors.contains("bytes to its report pipe without a newline (at most 65536 per line): dropped, and the VM was ended"),
            "\(run.errors)")
        #expect(run.output.split(separator: "\n").filter { $0.hasPrefix("bulkhead test guest") }.count == 1, "\(run.output)")
        #expect(peak - baseline < 1024, "the parent grew from \(baseline) KiB to \(peak) KiB")
        #expect(run.survivors.isEmpty)
    }

    /// fd 4 is the report pipe; fd 2, the worker's stderr, is the same pipe.
    @Test(arguments: [4, 2])
    func reportLinesAreRelayedWithTheirControlBytesEscapedAndTheWorkersName(fd: Int) throws {
        // "\e[2Jbulkhead: fake\n" and "\e]0;x\a\n": a screen clear, a forged parent line, a title.
        let line = Array("\u{1B}[2Jbulkhead: fake\n\u{1B}]0;x\u{07}\n".utf8)
        let hex = line.map { String(format: "%02x", $0) }.joined()
        let run = try ParentRun.run(
            ["run", "--allow-insecure", "--device", "escape-probe", "--cmdline", "escape=write,\(fd),hex:\(hex),\(line.count) poweroff"])
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.errors.split(separator: "\n")
        #expect(lines.contains("bulkhead-worker: \\x1b[2Jbulkhead: fake"), "\(run.errors)")
        #expect(lines.contains("bulkhead-worker: \\x1b]0;x\\x07"), "\(run.errors)")
        #expect(!run.errors.utf8.contains(0x1B), "\(run.errors)")
        #expect(!lines.contains { $0.hasPrefix("bulkhead: fake") }, "\(run.errors)")
    }
}
