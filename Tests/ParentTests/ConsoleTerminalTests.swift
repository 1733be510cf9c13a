import Foundation
import TestSupport
import Testing

/// The console as a person uses it: `bulkhead run` in a real terminal (a tmux pane on a
/// tmux server of this test's own), keys sent with send-keys, the screen read with
/// capture-pane. Raw mode shows as typed text the terminal does not echo; `stty -g` before
/// and after each run shows the terminal given back exactly, on every way out.
@Suite(.serialized) struct ConsoleTerminalTests {
    final class Pane {
        let name: String
        let directory: String
        static let counter = Counter()

        init() throws {
            name = "bulkhead-console-\(getpid())-\(Self.counter.next())"
            directory = NSTemporaryDirectory() + name
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try tmux(["new-session", "-d", "-s", name, "-x", "180", "-y", "50", "sh"])
            processes = (try? tmux(["display-message", "-p", "-t", name, "#{pid} #{pane_pid}"]))
                .map { $0.split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) } } ?? []
            send("export B='\(ParentRun.executable)'; PS1='$ '")
        }

        /// The tmux server's pid and its pane's shell: kill-server alone left both running here
        /// (the server waits for a pane that ignores its hang-up), one pair per test.
        private var processes: [pid_t] = []

        deinit {
            _ = try? Self.run(["-L", name, "kill-server"])
            for pid in processes { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// tmux with only stdin, stdout and stderr: its server would otherwise keep whatever
        /// fds this test process holds without O_CLOEXEC (this run's output pipe, other suites'
        /// pipes) open for as long as it lives, so their readers would never see an end.
        @discardableResult
        static func run(_ arguments: [String]) throws -> String {
            let exec = "import os, sys; os.closerange(3, 65536); os.execv('/usr/bin/tmux', ['tmux'] + sys.argv[1:])"
            let (status, output) = try runToEnd("/usr/bin/python3", ["-c", exec] + arguments)
            guard status == 0 else { throw TmuxFailure(description: "tmux \(arguments.joined(separator: " ")): \(status) \(output)") }
            return output
        }

        /// tmux on this pane's own server (-L): nothing another test or person runs is touched.
        @discardableResult
        func tmux(_ arguments: [String]) throws -> String { try Self.run(["-L", name] + arguments) }

        /// A shell line typed into the pane, then Enter.
        func send(_ line: String) {
            _ = try? tmux(["send-keys", "-t", name, "-l", line])
            _ = try? tmux(["send-keys", "-t", name, "Enter"])
        }

        func keys(_ keys: String...) { _ = try? tmux(["send-keys", "-t", name] + keys) }

        var screen: String { (try? tmux(["capture-pane", "-p", "-t", name, "-S", "-200"])) ?? "" }

        /// Waits (60 s at most) until the screen contains `text`; the screen then.
        @discardableResult
        func wait(for text: String) -> String { wait { $0.contains(text) } }

        /// Waits (60 s at most) until `done` holds for the screen; the screen then.
        @discardableResult
        func wait(until done: (String) -> Bool) -> String {
            let deadline = Date().addingTimeInterval(60)
            var now = screen
            while !done(now) && Date() < deadline {
                usleep(50_000)
                now = screen
            }
            return now
        }

        /// A line the shell prints as `TAG=N`, never found in the typed command (which says `$((…))`).
        func marker(_ tag: String) -> (command: String, printed: String) { ("echo \(tag)=$((6*7))", "\(tag)=42") }

        /// `stty -g` of the pane's terminal, through a file (the screen wraps long lines).
        func terminalSettings(_ tag: String) -> String {
            let file = "\(directory)/stty-\(tag)"
            let done = marker("STTY-\(tag)")
            send("stty -g > '\(file)'; \(done.command)")
            wait(for: done.printed)
            return ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Runs `bulkhead RUN-ARGUMENTS` in the pane, its exit status printed after it.
        func start(_ runArguments: String) { send("\"$B\" \(runArguments); echo EXIT=$?") }

        /// The `EXIT=N` line the shell prints after the run (the typed command says `EXIT=$?`).
        func exitStatus() -> Int? {
            func status(_ screen: String) -> Int? {
                screen.split(separator: "\n").compactMap { $0.hasPrefix("EXIT=") ? Int($0.dropFirst(5)) : nil }.last
            }
            return status(wait { status($0) != nil })
        }
    }

    struct TmuxFailure: Error, CustomStringConvertible { let description: String }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int { lock.withLock { value += 1; return value } }
    }

    /// The lines of the screen (tmux pads nothing with -p, but trailing blanks are cut).
    static func lines(_ screen: String) -> [Substring] { screen.split(separator: "\n").map { $0.drop { $0 == " " } } }

    @Test func aTypedLineIsEchoedByTheGuestAndTheTerminalIsGivenBack() throws {
        let pane = try Pane()
        let before = pane.terminalSettings("before")
        #expect(!before.isEmpty)
        pane.start(#"run --cmdline "echo=1 poweroff""#)
        pane.wait(for: "echo: ready for 1 line")
        pane.keys("-l", "hello")
        pane.keys("Enter")
        #expect(pane.exitStatus() == 0, "\(pane.screen)")
        let screen = pane.screen
        #expect(screen.contains("echo: hello"), "\(screen)")
        #expect(!Self.lines(screen).contains("hello"), "raw mode: the terminal must not echo what is typed\n\(screen)")
        #expect(pane.terminalSettings("after") == before)
        let modes = pane.marker("MODES")
        pane.send("stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo -e -icanon -e -echo | sort | tr '\\n' ' '; \(modes.command)")
        #expect(pane.wait(for: modes.printed).contains("echo icanon \(modes.printed)"), "\(pane.screen)")
    }

    @Test func ctrlBracketTwiceSendsOneAndCtrlBracketQQuitsWith143() throws {
        let pane = try Pane()
        let before = pane.terminalSettings("before")
        pane.start(#"run --cmdline "echo=1 echo=1 poweroff""#)
        pane.wait(for: "echo: ready for 1 line")
        pane.keys("-l", "a")
        pane.keys("C-]", "C-]")
        pane.keys("-l", "b")
        pane.keys("Enter")
        pane.wait(for: "echo: a^]b")
        pane.keys("C-]", "q")
        #expect(pane.exitStatus() == 143, "\(pane.screen)")
        #expect(pane.screen.contains("bulkhead: Ctrl-] q on the console: the VM was stopped"), "\(pane.screen)")
        #expect(pane.terminalSettings("after") == before)
    }

    @Test func aSIGKILLedWorkerLeavesTheTerminalGivenBack() throws {
        let pane = try Pane()
        let before = pane.terminalSettings("before")
        pane.send(#"sh -c 'echo PID=$$; exec "$B" run --cmdline "echo=1 poweroff"'; echo EXIT=$?"#)
        let screen = pane.wait(for: "echo: ready for 1 line")
        let pidLine = try #require(screen.split(separator: "\n").first { $0.hasPrefix("PID=") })
        let parent = try #require(Int32(pidLine.dropFirst(4)))
        let worker = try #require(ParentRun.children(of: parent).first { ParentRun.comm($0).hasPrefix("bulkhead-worke") })
        kill(worker, SIGKILL)
        #expect(pane.exitStatus() == 70, "\(pane.screen)")
        #expect(pane.terminalSettings("after") == before)
    }

    @Test func aForbiddenCallExit159LeavesTheTerminalGivenBack() throws {
        let pane = try Pane()
        let before = pane.terminalSettings("before")
        pane.start(#"run --allow-insecure --seccomp trap --device escape-probe --cmdline "echo=1 escape=openat,-100,0,0""#)
        pane.wait(for: "echo: ready for 1 line")
        pane.keys("-l", "x")
        pane.keys("Enter")
        #expect(pane.exitStatus() == 159, "\(pane.screen)")
        #expect(pane.screen.contains("echo: x"))
        #expect(pane.terminalSettings("after") == before)
    }
}
