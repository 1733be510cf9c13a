import CShim
import Glibc
import Testing

/// `--console-input-fd`: bytes on a pipe reach the guest through the UART's receiver, read
/// on the io thread under its filter (the default `--seccomp kill`), and the test guest's
/// `echo=LINES` prints each line back.
@Suite struct ConsoleInputRunTests {
    /// A pipe holding `input` with its write end closed: the worker reads it to end of input.
    static func pipe(holding input: String) throws -> Int32 {
        var fds: [Int32] = [0, 0]
        guard bh_pipe_cloexec(&fds) == 0 else { throw Failure("pipe2") }
        let bytes = Array(input.utf8)
        guard bytes.count < 65536, write(fds[1], bytes, bytes.count) == bytes.count else { throw Failure("write to the pipe") }
        close(fds[1])
        return fds[0]
    }

    static func run(_ cmdline: String, input: String) throws -> WorkerRun {
        let fd = try pipe(holding: input)
        defer { close(fd) }
        // A generous bound for a loaded machine (each byte is a wake-up of the io thread), not a timing.
        return try WorkerRun.run(["--console-input-fd", "5", "--cmdline", cmdline], passing: [5: fd], timeoutSeconds: 120)
    }

    @Test func linesOnThePipeAreEchoedByTheGuest() throws {
        let run = try Self.run("echo=2 poweroff", input: "hello\nworld\n")
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines == ["echo: ready for 2 lines", "echo: hello", "echo: world"])
    }

    @Test func moreThanTheFIFOHoldsArrivesWholeAndInOrder() throws {
        // ~9 KiB, hundreds of FIFO refills: each waits for the guest to read half the receiver.
        let lines = (0..<300).map { "line \($0) of the console test" }
        let run = try Self.run("echo=300 poweroff", input: lines.joined(separator: "\r\n") + "\r\n")
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(Array(run.lines.dropFirst()) == lines.map { Substring("echo: " + $0) })
    }

    @Test func controlBytesAndCarriageReturnsAsATerminalSendsThem() throws {
        let run = try Self.run("echo=2 poweroff", input: "a\u{1d}b\rc\u{7f}\r")
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(Array(run.lines.dropFirst()) == ["echo: a^]b", "echo: c^?"])
    }

    @Test func endOfInputLeavesTheGuestRunning() throws {
        // One line, then EOF: the second read times out in the guest, which still runs.
        let run = try Self.run("echo=1 echo=1,1 poweroff", input: "only\n")
        #expect(run.ending == .exited(1), "\(run.errors)")
        #expect(run.lines == ["echo: ready for 1 line", "echo: only", "echo: ready for 1 line", "error: echo: no input within 1 s"])
        #expect(run.errors.isEmpty)
    }

    @Test func withoutInputFDTheReceiverStaysEmpty() throws {
        let run = try WorkerRun.run(["--cmdline", "echo=1,1"])
        #expect(run.ending == .exited(1))
        #expect(run.lines.last == "error: echo: no input within 1 s")
    }

    @Test func malformedEchoStepsAreRefused() throws {
        for step in ["echo=0", "echo=x", "echo=1,0", "echo=1,y"] {
            let run = try WorkerRun.run(["--cmdline", step])
            #expect(run.ending == .exited(1), "\(step)")
            #expect(run.output.hasPrefix("error: malformed echo"), "\(step): \(run.output)")
        }
    }
}
