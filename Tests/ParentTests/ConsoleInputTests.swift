import Foundation
import Testing

/// The console input through the real parent: stdin as a pipe or a file reaches the guest's
/// UART (ConsoleInput → the worker's pipe → the io thread), as the test guest's `echo=LINES`
/// shows; /dev/null gives no input at all; a guest that reads nothing holds nobody up.
@Suite struct ConsoleInputTests {
    static let bulkhead = ParentRun.executable

    /// `sh -c SCRIPT` where SCRIPT runs `bulkhead` (as $B) with a stdin of its own making.
    static func shell(_ script: String, timeout: Double = 60) throws -> ParentRun {
        try ParentRun.Running(["-c", "B='\(bulkhead)'; \(script)"], executable: "/bin/sh").finish(timeout: timeout)
    }

    @Test func linesFromAPipeAreEchoedAndTheRunExits0() throws {
        let run = try Self.shell(#"printf 'hello\nworld\n' | "$B" run --cmdline "echo=2 poweroff""#)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines == ["echo: ready for 2 lines", "echo: hello", "echo: world"])
        #expect(run.errors.isEmpty, "\(run.errors)")
    }

    @Test func aFileOnStdinIsRelayedAsIs() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-console-\(getpid()).txt").path
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let text = "from a file\r\nsecond\n"
        _ = write(fd, text, text.utf8.count)
        close(fd)
        let run = try Self.shell(#""$B" run --cmdline "echo=2 poweroff" < '\#(path)'"#)
        #expect(run.status == 0, "\(run.errors)")
        #expect(Array(run.lines.dropFirst()) == ["echo: from a file", "echo: second"])
    }

    @Test func endOfInputLeavesTheGuestRunning() throws {
        let run = try Self.shell(#"printf 'one\n' | "$B" run --cmdline "echo=1 sleep=200 banner poweroff""#)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines == ["echo: ready for 1 line", "echo: one", "slept 200 ms", "bulkhead test guest: 1 vcpu"])
    }

    @Test func endlessInputToAGuestThatNeverReadsHoldsNothingUp() throws {
        // `yes` writes for ever; the parent stops reading once its 4 KiB and the pipe are full.
        let run = try Self.shell(#"yes | "$B" run --cmdline "sleep=300 poweroff""#)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines == ["slept 300 ms"])
        #expect(run.survivors.isEmpty)
    }

    @Test func devNullGivesTheWorkerNoInputFD() throws {
        let check = try Self.shell(#""$B" check < /dev/null"#)
        #expect(check.status == 0, "\(check.errors)")
        #expect(!check.output.contains("console input"))
        let piped = try Self.shell(#"true | "$B" check"#)
        #expect(piped.output.contains("console input from stdin (a pipe from the parent)"), "\(piped.output)")
        let run = try Self.shell(#""$B" run --cmdline "echo=1,1" < /dev/null"#)
        #expect(run.status == 1)
        #expect(run.lines.last == "error: echo: no input within 1 s")
    }

    @Test func closedStdinGivesNoInput() throws {
        let run = try Self.shell(#""$B" run --cmdline "echo=1,1" <&-"#)
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.lines.last == "error: echo: no input within 1 s")
    }

    @Test func theEscapeKeyIsNotSpecialOnAPipe() throws {
        let run = try Self.shell(#"printf 'a\035q\n' | "$B" run --cmdline "echo=1 poweroff""#)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines.last == "echo: a^]q")
    }

    @Test func theEscapeProbesIORequestsAndConsoleInputShareTheIOThread() throws {
        let run = try Self.shell(
            #"printf 'x\n' | "$B" run --allow-insecure --seccomp trap --device escape-probe --cmdline "echo=1 escape=fdatasync,-1@io echo=1,1""#)
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.lines.contains("echo: x"))
        #expect(run.lines.contains { $0.hasPrefix("escape fdatasync on io = ") }, "\(run.output)")
        #expect(run.lines.last == "error: echo: no input within 1 s")
    }
}
