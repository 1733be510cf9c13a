import Foundation
import Testing
import TestSupport

/// `bulkhead console NAME` against real VMs: the sealed parent attaches one client at a time
/// to the guest's UART (console.write into the worker's input pipe, console.read from the
/// console tee) while the run's own console file keeps getting everything.
@Suite(.serialized) struct ConsoleAttachTests {
    /// Lines of `text` (CR LF from the guest's output as it is, on a pipe: LF only).
    static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    @Test func aPipedClientSeesItsLinesEchoedAndTheVMRunsOnAfterItDetaches() throws {
        // Two lines from the first client, one from the second, then 2 s of quiet and ticks.
        let vm = try ControlledVM("attach", ["--cmdline", "echo=3 sleep=2000 tick=600,100"])
        guard vm.waitUntilServing() else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let first = vm.shell(#"printf 'hello\nworld\n' | "$B" console "$N""#)
        #expect(first.status == 0, "\(first.output)")
        #expect(Self.lines(first.output).contains("echo: hello") && Self.lines(first.output).contains("echo: world"), "\(first.output)")
        #expect(try vm.ctl(["info"]).output.contains("state: running"), "detaching leaves the VM running")

        let second = vm.shell(#"printf 'again\n' | "$B" console "$N""#)
        #expect(second.status == 0, "a client attaches again once the first detached: \(second.output)")
        #expect(Self.lines(second.output).contains("echo: again"), "\(second.output)")
        #expect(!second.output.contains("echo: hello"), "a client sees the output from when it attached, not before")

        #expect(vm.waitForTicks(3), "the guest goes on after the second detach")
        let console = vm.consoleLines
        #expect(["echo: hello", "echo: world", "echo: again"].allSatisfy(console.contains), "the run's console got everything: \(console)")
        kill(vm.run.pid, SIGTERM)
        #expect(vm.finish().status == 143)
    }

    @Test func aSecondClientIsRefusedWhileOneIsAttached() throws {
        let vm = try ControlledVM("second", ["--cmdline", "tick=600,100"])
        guard vm.waitUntilServing() else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let out = vm.runtime + ".first"
        defer { unlink(out); unlink(out + ".status") }
        // The first client holds the console for 3 s (its stdin ends then), in the background.
        _ = vm.shell(#"(sleep 3 | "$B" console --settle-ms 0 "$N" >'\#(out)' 2>&1; echo $? >'\#(out).status') &"#)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("tick ") { usleep(20_000) }
        #expect(((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("tick "), "the first client shows the ticks")

        let refused = vm.shell(#""$B" console "$N""#)
        #expect(refused.status == 75, "\(refused.output)")
        #expect(refused.output.contains("another client is attached to the console"), "\(refused.output)")

        while Date() < deadline.addingTimeInterval(5), !FileManager.default.fileExists(atPath: out + ".status") { usleep(20_000) }
        #expect((try? String(contentsOfFile: out + ".status", encoding: .utf8)) == "0\n", "the first client detached at the end of its input")
        let again = vm.shell(#""$B" console --settle-ms 0 "$N""#)
        #expect(again.status == 0, "the console is free again: \(again.output)")
        kill(vm.run.pid, SIGTERM)
        #expect(vm.finish().status == 143)
    }

    @Test func aDeniedConsoleGroupRefusesTheAttach() throws {
        let vm = try ControlledVM("deny-console", ["--cmdline", "echo=1 tick=600,100", "--deny-control-feature", "console"])
        guard vm.waitUntilServing() else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let refused = vm.shell(#"printf 'x\n' | "$B" console "$N""#)
        #expect(refused.status == 77, "\(refused.output)")
        #expect(refused.output.contains("feature group console"), "\(refused.output)")
        #expect(!vm.consoleLines.contains("echo: x"), "nothing reached the guest")
        #expect(try vm.ctl(["info"]).status == 0, "inspect is not denied")
        #expect(try vm.ctl(["console"]).status == 64, "the console is not a ctl command")
        kill(vm.run.pid, SIGTERM)
        #expect(vm.finish().status == 143)
    }

    @Test func aPeerWhoMayNotUseTheControlSocketCannotAttach() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let vm = try ControlledVM("peer-console", ["--cmdline", "echo=1 tick=600,100"])
        guard vm.waitUntilServing() else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let stranger = vm.shell(#"printf 'x\n' | /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups "$B" console "$N""#)
        #expect(stranger.status == 67, "\(stranger.output)")
        #expect(!vm.consoleLines.contains("echo: x"))
        kill(vm.run.pid, SIGTERM)
        #expect(vm.finish().status == 143)
    }

    @Test func anAttachedClientThatNeverReadsDoesNotHoldUpTheGuest() throws {
        // About 77 KB of output: more than the tee pipe (64 KiB) and the parent's 4 KiB hold.
        let vm = try ControlledVM("stalled", ["--cmdline", "tick=8000,1 poweroff"])
        guard vm.waitUntilServing() else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let pidFile = vm.runtime + ".client"
        defer { unlink(pidFile) }
        // No input: it would stay attached for 10 s (the ticks never settle); it is stopped first.
        _ = vm.shell(#""$B" console --settle-ms 10000 "$N" </dev/null >/dev/null 2>&1 & echo $! >'\#(pidFile)'"#)
        var client: pid_t = 0
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, client == 0 {
            client = pid_t(((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            usleep(20_000)
        }
        #expect(client > 0)
        usleep(300_000)  // attached by now
        if client > 0 { kill(client, SIGSTOP) }  // it reads nothing more, sends no more console.read
        let run = vm.finish(timeout: 120)  // 8000 port-exit lines: slow on a loaded machine
        if client > 0 { kill(client, SIGKILL) }
        #expect(run.status == 0, "the guest printed all its ticks and powered off: \(run.errors)")
        #expect(vm.ticks.count == 8000, "the run's console got every line")
    }
}
