import Foundation
import Testing
import TestSupport

/// Hooks through the real parent (`bulkhead run --hook PHASE=PROGRAM`): the exec helper runs
/// each declared phase when the parent asks (HookPhases), with its arguments, a clean
/// environment that names the VM, a time limit, and the VM's name on its output lines.
@Suite(.serialized) struct HookPhaseTests {
    /// A root-owned directory with the hook scripts, and `out/` (1777) the hooks write to:
    /// they run as the exec helper's account, not as root.
    final class Fixture {
        let directory = "/tmp/bh-hooks-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var out: String { directory + "/out" }
        var log: String { out + "/log" }
        let name = "hk-\(getpid() % 100_000)-\(UInt32.random(in: 0...99_999))"

        init() throws {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            chmod(directory, 0o755)
            chmod(out, 0o1777)
            // One line per run: phase | arguments | the environment, sorted (PWD left out: the shell's own).
            try script("record", """
                printf '%s|%s|%s\\n' "$BULKHEAD_PHASE" "$*" "$(env | grep -v '^PWD=' | LC_ALL=C sort | tr '\\n' ' ')" >> \(log)
                echo "hook says $BULKHEAD_PHASE"
                """)
            // Writes its own pid and a child's (same group), then waits for ever.
            try script("hang", """
                sleep 600 &
                echo $$ $! > \(out)/hang.tmp && mv \(out)/hang.tmp \(out)/hang-$BULKHEAD_PHASE
                wait
                """)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        @discardableResult
        func script(_ name: String, _ body: String) throws -> String {
            let path = "\(directory)/\(name)"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
            guard fd >= 0 else { throw POSIXError(.EIO) }
            let text = Array("#!/bin/sh\n\(body)\n".utf8)
            _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            chmod(path, 0o755)
            return path
        }

        func path(_ name: String) -> String { "\(directory)/\(name)" }

        /// The recorded runs: (phase, arguments, environment).
        var runs: [(phase: String, arguments: String, environment: String)] {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").map { line in
                let parts = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                return (parts[0], parts.count > 1 ? parts[1] : "", parts.count > 2 ? parts[2] : "")
            }
        }

        /// The pids a `hang` hook of `phase` wrote (itself and its child), once it has.
        func hangPids(_ phase: String) -> [Int32] {
            let text = (try? String(contentsOfFile: "\(out)/hang-\(phase)", encoding: .utf8)) ?? ""
            return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
        }

        /// Nothing of the VM is left: its processes, its registry entry, its cgroup.
        func expectNothingLeft(_ run: ParentRun, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(run.survivors.isEmpty, "left running: \(run.survivors)", sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: "/run/bulkhead/\(name)"), sourceLocation: sourceLocation)
            #expect(HookPhaseTests.cgroups(named: name).isEmpty, "\(HookPhaseTests.cgroups(named: name))", sourceLocation: sourceLocation)
        }
    }

    /// Any cgroup directory (v2, a few levels deep) whose name contains `name`.
    static func cgroups(named name: String) -> [String] {
        var found: [String] = []
        func walk(_ directory: String, depth: Int) {
            guard depth < 5, let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for entry in entries {
                let path = directory + "/" + entry
                var info = stat()
                guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
                if entry.contains(name) { found.append(path) }
                walk(path, depth: depth + 1)
            }
        }
        walk("/sys/fs/cgroup", depth: 0)
        return found
    }

    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return !stat.contains(") Z ")
    }

    static func waitGone(_ pids: [Int32]) -> [Int32] {
        let deadline = Date().addingTimeInterval(5)
        while pids.contains(where: alive) && Date() < deadline { usleep(10_000) }
        return pids.filter(alive)
    }

    @Test func everyPhaseRunsInOrderWithItsArgumentsAndAnEnvironmentThatNamesTheVM() throws {
        #expect(geteuid() == 0, "needs root (a tap)")
        let fixture = try Fixture()
        let tap = uniqueTapName("bhk")
        #expect(shell("ip tuntap add dev \(tap) mode tap") == 0)
        defer { _ = shell("ip link del \(tap)") }
        let record = fixture.path("record")
        var arguments = ["run", "--name", fixture.name, "--net", "tap=\(tap)"]
        for phase in ["prepare", "up", "started", "down", "stopped"] { arguments += ["--hook", "\(phase)=\(record)"] }
        arguments += ["--hook-arg", "up=first arg", "--hook-arg", "stopped=--flag", "--cmdline", "banner poweroff"]
        let run = try ParentRun.run(arguments)
        #expect(run.status == 0, "\(run.errors)")
        let runs = fixture.runs
        #expect(runs.map(\.phase) == ["prepare", "up", "started", "down", "stopped"], "\(runs)")
        #expect(runs.map(\.arguments) == ["", "first arg \(tap)", "", tap, "--flag"], "\(runs)")
        let vm = "BULKHEAD_VM=\(fixture.name) PATH=/usr/bin:/bin "
        #expect(runs.map(\.environment) == [
            "BULKHEAD_PHASE=prepare \(vm)", "BULKHEAD_PHASE=up BULKHEAD_TAP=\(tap) \(vm)", "BULKHEAD_PHASE=started \(vm)",
            "BULKHEAD_PHASE=down BULKHEAD_TAP=\(tap) \(vm)", "BULKHEAD_PHASE=stopped \(vm)",
        ], "\(runs)")
        // Output goes to stderr, each line with the VM's name and the phase.
        #expect(run.errors.contains("bulkhead: vm \(fixture.name): hook prepare: hook says prepare"), "\(run.errors)")
        #expect(run.errors.contains("bulkhead: vm \(fixture.name): hook up (tap \(tap)): hook says up"), "\(run.errors)")
        #expect(run.output.contains("bulkhead test guest"))
        fixture.expectNothingLeft(run)
    }

    @Test func aFailingPrepareEndsTheStartWithNothingLeft() throws {
        let fixture = try Fixture()
        let run = try ParentRun.run([
            "run", "--name", fixture.name, "--disk", HelperSupervisionTests.disk(), "--hook", "prepare=/usr/bin/false",
            "--hook", "stopped=\(fixture.path("record"))", "--cmdline", "banner poweroff",
        ])
        #expect(run.status == 77, "\(run.errors)")
        #expect(run.errors.contains("vm \(fixture.name): hook prepare exited with status 1"), "\(run.errors)")
        #expect(run.errors.contains("the start was ended"), "\(run.errors)")
        #expect(!run.output.contains("bulkhead test guest"), "the worker never started")
        #expect(fixture.runs.isEmpty, "after a failed prepare no other hook runs: \(fixture.runs)")
        fixture.expectNothingLeft(run)
    }

    @Test func aHangingPrepareIsKilledAtItsLimitAndTheStartEnds() throws {
        let (fixture, run) = try Self.runWithHangingHook("prepare", cmdline: "banner poweroff")
        #expect(run.status == 77, "\(run.errors)")
        #expect(run.errors.contains("hook prepare ran past its time limit and was killed"), "\(run.errors)")
        fixture.expectNothingLeft(run)
    }

    @Test func aHangingStoppedHookIsKilledAtItsLimitAndTheGuestsStatusStands() throws {
        let (fixture, run) = try Self.runWithHangingHook("stopped", cmdline: "banner no-such-step")
        #expect(run.status == 1, "the guest's own status: \(run.errors)")
        #expect(run.errors.contains("vm \(fixture.name): hook stopped ran past its time limit and was killed"), "\(run.errors)")
        fixture.expectNothingLeft(run)
    }

    /// A run whose `phase` hook never ends, at a 300 ms limit: the run ends in good time, the
    /// hook (it and the child it started) ran and its whole group is gone afterwards.
    private static func runWithHangingHook(_ phase: String, cmdline: String) throws -> (Fixture, ParentRun) {
        let fixture = try Fixture()
        let started = Date()
        let run = try ParentRun.run([
            "run", "--name", fixture.name, "--hook", "\(phase)=\(fixture.path("hang"))", "--hook-timeout-ms", "300",
            "--cmdline", cmdline,
        ])
        #expect(Date().timeIntervalSince(started) < 10)
        let pids = fixture.hangPids(phase)
        #expect(pids.count == 2, "the hook ran: \(pids)")
        #expect(waitGone(pids).isEmpty, "the hook's group is gone")
        return (fixture, run)
    }

    @Test func aFailingUpEndsTheVMAndDownAndStoppedStillRun() throws {
        #expect(geteuid() == 0, "needs root (a tap)")
        let fixture = try Fixture()
        let tap = uniqueTapName("bhu")
        #expect(shell("ip tuntap add dev \(tap) mode tap") == 0)
        defer { _ = shell("ip link del \(tap)") }
        let record = fixture.path("record")
        let started = Date()
        let run = try ParentRun.run([
            "run", "--name", fixture.name, "--net", "tap=\(tap)", "--hook", "up=/usr/bin/false", "--hook", "down=\(record)",
            "--hook", "stopped=\(record)", "--cmdline", "banner sleep=20000 poweroff",
        ])
        #expect(Date().timeIntervalSince(started) < 15, "the VM was ended, not left to sleep")
        #expect(run.status == 77, "\(run.errors)")
        #expect(run.errors.contains("the VM was ended: vm \(fixture.name): hook up (tap \(tap)) exited with status 1"), "\(run.errors)")
        #expect(fixture.runs.map(\.phase) == ["down", "stopped"], "\(fixture.runs)")
        fixture.expectNothingLeft(run)
    }
}
