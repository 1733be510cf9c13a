import Foundation
import Glibc
import SystemPackage
import Testing

@testable import HostAccess

/// Hooks run with fork+execve: declared programs only, argv never through a shell, a clean
/// environment, no inherited fds, their own process group, a time limit and an output cap.
extension HostAccessSuite {
    @Suite struct Hooks {
        init() throws {
            // As the exec helper does at start-up, so a hook's orphans come back to be reaped.
            try HookRunner.adoptOrphanedDescendants()
        }

        func text(_ result: HookResult) -> String { String(decoding: result.output, as: UTF8.self) }

        /// An executable script in the fixture.
        func script(_ fixture: Fixture, _ name: String, _ body: String, mode: Int = 0o755) throws -> String {
            try fixture.file(name, contents: "#!/bin/sh\n" + body + "\n", mode: mode)
        }

        /// kill(-pgid, 0) fails with ESRCH: no process is left in the hook's group.
        func groupIsGone(_ pgid: Int32) -> Bool { kill(-pgid, 0) == -1 && errno == ESRCH }

        @Test func declaredHookRunsAndReturnsStatusAndOutput() throws {
            let hooks = try DeclaredHooks([HookDeclaration(name: "greet", program: "/usr/bin/echo", arguments: ["hello", "world"])])
            let (result, leaked) = try descriptorsLeaked { try hooks.run(name: "greet") }
            #expect(leaked.isEmpty, "\(leaked)")
            #expect(result.termination == .exited(status: 0))
            #expect(text(result) == "hello world\n")
            #expect(!result.truncated && !result.timedOut)
            #expect(groupIsGone(result.processID))
        }

        @Test func undeclaredHookIsRefused() throws {
            let hooks = try DeclaredHooks([HookDeclaration(name: "greet", program: "/usr/bin/echo")])
            let refused = refusal(HookRefusal.self) { _ = try hooks.run(name: "rm") }
            #expect(refused == .notDeclared(hook: "rm"))
            let invalid = refusal(HookRefusal.self) { _ = try hooks.run(name: "../bin/sh") }
            guard case .invalidName? = invalid else {
                Issue.record("expected invalidName, got \(String(describing: invalid))")
                return
            }
        }

        @Test func shellSyntaxInDeclaredArgumentsIsPassedLiterallyWithoutAShell() throws {
            try withFixture { fixture in
                let marker = fixture.path("pwned")
                let arguments = ["; touch \(marker)", "$(touch \(marker))", "`touch \(marker)`", "| touch \(marker)", "*"]
                let hooks = try DeclaredHooks([HookDeclaration(name: "say", program: "/usr/bin/echo", arguments: arguments)])
                let result = try hooks.run(name: "say")
                #expect(text(result) == arguments.joined(separator: " ") + "\n")
                #expect(!FileManager.default.fileExists(atPath: marker))
            }
        }

        @Test func extraArgumentsAreRefusedUnlessDeclared() throws {
            let hooks = try DeclaredHooks([HookDeclaration(name: "greet", program: "/usr/bin/echo", arguments: ["hi"])])
            let refused = refusal(HookRefusal.self) { _ = try hooks.run(name: "greet", extraArguments: ["there"]) }
            #expect(refused == .extraArgumentsNotAllowed(hook: "greet"))
        }

        @Test func extraArgumentsStartingWithDashOrCarryingShellSyntaxAreRefused() throws {
            let hooks = try DeclaredHooks([
                HookDeclaration(name: "greet", program: "/usr/bin/echo", arguments: ["hi"], extraArgumentLimit: 2)
            ])
            for argument in ["-n", "--help", "-", "a;b", "$(id)", "`id`", "a b", "a/b", "a\nb", "", "a|b", "a>b", "ü"] {
                let refused = refusal(HookRefusal.self) { _ = try hooks.run(name: "greet", extraArguments: [argument]) }
                guard case .extraArgumentRefused? = refused else {
                    Issue.record("\(argument.debugDescription): expected extraArgumentRefused, got \(String(describing: refused))")
                    continue
                }
            }
            let tooMany = refusal(HookRefusal.self) { _ = try hooks.run(name: "greet", extraArguments: ["a", "b", "c"]) }
            #expect(tooMany == .tooManyExtraArguments(hook: "greet", count: 3, limit: 2))
        }

        @Test func validExtraArgumentsFollowTheFixedOnes() throws {
            let hooks = try DeclaredHooks([
                HookDeclaration(name: "greet", program: "/usr/bin/echo", arguments: ["hi"], extraArgumentLimit: 2)
            ])
            let result = try hooks.run(name: "greet", extraArguments: ["vm-7", "tap0=up"])
            #expect(text(result) == "hi vm-7 tap0=up\n")
        }

        @Test func hangingHookIsKilledAtTheLimitWithItsWholeGroup() throws {
            try withFixture { fixture in
                let program = try script(fixture, "hang", "sleep 30 &\nsleep 30")
                let hooks = try DeclaredHooks(
                    [HookDeclaration(name: "hang", program: program)], limits: HookLimits(timeLimit: .milliseconds(300)))
                let (result, leaked) = try descriptorsLeaked(fixture: fixture) { try hooks.run(name: "hang") }
                #expect(leaked.isEmpty, "\(leaked)")
                #expect(result.timedOut)
                #expect(result.termination == .signaled(signal: SIGKILL))
                #expect(result.duration >= .milliseconds(300) && result.duration < .seconds(3))
                #expect(groupIsGone(result.processID))
            }
        }

        @Test func floodingHookIsTruncatedAtTheCapAndEnded() throws {
            let hooks = try DeclaredHooks(
                [HookDeclaration(name: "flood", program: "/usr/bin/yes", arguments: ["flood"])],
                limits: HookLimits(timeLimit: .milliseconds(400), outputCap: 64 * 1024))
            let result = try hooks.run(name: "flood")
            #expect(result.truncated)
            #expect(result.output.count == 64 * 1024)
            #expect(text(result).hasPrefix("flood\nflood\n"))
            #expect(result.timedOut && result.termination == .signaled(signal: SIGKILL))
            #expect(groupIsGone(result.processID))
        }

        @Test func hookExitingNonZeroReportsItsStatus() throws {
            try withFixture { fixture in
                let program = try script(fixture, "fail", "echo failing >&2\nexit 7")
                let hooks = try DeclaredHooks([HookDeclaration(name: "fail", program: program)])
                let result = try hooks.run(name: "fail")
                #expect(result.termination == .exited(status: 7))
                #expect(text(result) == "failing\n")
            }
        }

        @Test func hookKilledBySignalReportsTheSignal() throws {
            try withFixture { fixture in
                let program = try script(fixture, "abort", "kill -TERM $$")
                let hooks = try DeclaredHooks([HookDeclaration(name: "abort", program: program)])
                #expect(try hooks.run(name: "abort").termination == .signaled(signal: SIGTERM))
            }
        }

        @Test func hookDoesNotInheritTheCallersDescriptors() throws {
            try withFixture { fixture in
                let secret = try fixture.file("secret")
                let inheritable = open(secret, O_RDONLY)  // no O_CLOEXEC
                try #require(inheritable >= 0)
                defer { close(inheritable) }
                let hooks = try DeclaredHooks([HookDeclaration(name: "fds", program: "/usr/bin/ls", arguments: ["-l", "/proc/self/fd/"])])
                let result = try hooks.run(name: "fds")
                let listing = text(result)
                #expect(!listing.contains(secret))
                var numbers: [Int] = []
                for line in listing.split(separator: "\n") where line.contains(" -> ") {
                    let parts = line.split(separator: " ")
                    guard let arrow = parts.firstIndex(of: "->"), arrow > 0, let fd = Int(parts[arrow - 1]) else { continue }
                    let target = parts[(arrow + 1)...].joined(separator: " ")
                    switch fd {
                    case 0: #expect(target == "/dev/null")
                    case 1, 2: #expect(target.hasPrefix("pipe:"))
                    default: #expect(target.hasPrefix("/proc/") && target.hasSuffix("/fd"), "inherited fd \(fd) -> \(target)")
                    }
                    numbers.append(fd)
                }
                #expect(Array(numbers.prefix(3)) == [0, 1, 2], "\(listing)")
                #expect(numbers.count <= 4, "\(listing)")
            }
        }

        @Test func hookGetsOnlyPathAndItsPhaseAndVMInItsEnvironment() throws {
            setenv("BULKHEAD_TEST_SECRET", "leaked", 1)
            defer { unsetenv("BULKHEAD_TEST_SECRET") }
            let hooks = try DeclaredHooks([HookDeclaration(name: "env", program: "/usr/bin/env")])
            #expect(text(try hooks.run(name: "env")) == "PATH=/usr/bin:/bin\nBULKHEAD_PHASE=env\n")
            let named = try DeclaredHooks([HookDeclaration(name: "env", program: "/usr/bin/env")], vmName: "vm-1")
            #expect(text(try named.run(name: "env")) == "PATH=/usr/bin:/bin\nBULKHEAD_PHASE=env\nBULKHEAD_VM=vm-1\n")
            let forged = try DeclaredHooks([HookDeclaration(name: "env", program: "/usr/bin/env")], vmName: "a\nPATH=/tmp")
            #expect(text(try forged.run(name: "env")) == "PATH=/usr/bin:/bin\nBULKHEAD_PHASE=env\n", "a bad name is left out")
        }

        @Test func hookRunsInItsOwnProcessGroupWithStdinFromDevNull() throws {
            try withFixture { fixture in
                let program = try script(fixture, "group", "read -r stat < /proc/$$/stat; echo \"$stat\"; cat; echo end")
                let hooks = try DeclaredHooks([HookDeclaration(name: "group", program: program)])
                let result = try hooks.run(name: "group")
                let fields = text(result).split(separator: ")").last?.split(separator: " ") ?? []
                // After "comm)": state, ppid, pgrp.
                #expect(fields.count > 3 && Int32(fields[2]) == result.processID, "\(text(result))")
                #expect(text(result).hasSuffix("end\n"))
                #expect(!result.timedOut)
            }
        }

        @Test func processesLeftBehindByAHookAreEnded() throws {
            try withFixture { fixture in
                let program = try script(fixture, "daemon", "sleep 30 &\necho started")
                let hooks = try DeclaredHooks([HookDeclaration(name: "daemon", program: program)])
                let result = try hooks.run(name: "daemon")
                #expect(result.termination == .exited(status: 0) && !result.timedOut)
                #expect(result.duration < .seconds(5))
                #expect(groupIsGone(result.processID))
            }
        }

        @Test func programSymlinkIsRefusedAtDeclaration() throws {
            try withFixture { fixture in
                let link = try fixture.symlink("echo", to: "/bin/echo")
                let refused = refusal(HookRefusal.self, fixture: fixture) {
                    _ = try DeclaredHooks([HookDeclaration(name: "x", program: link)])
                }
                #expect(refused == .programNotRegularFile(hook: "x", type: .symbolicLink))
            }
        }

        @Test func programInSymlinkedDirectoryIsRefused() throws {
            // /bin is a symlink to usr/bin on Debian 12: the walk never follows it, so hooks
            // are declared by their real path (/usr/bin/echo).
            let refused = refusal(HookRefusal.self) {
                _ = try DeclaredHooks([HookDeclaration(name: "x", program: "/bin/echo")])
            }
            #expect(refused == .programWalkFailed(hook: "x", at: Array("/bin".utf8), lastComponent: false, errno: .notDirectory))
            let dotted = refusal(HookRefusal.self) {
                _ = try DeclaredHooks([HookDeclaration(name: "x", program: "/usr/lib/../bin/echo")])
            }
            guard case .invalidProgramPath(_, _, .dotDotComponent)? = dotted else {
                Issue.record("expected invalidProgramPath, got \(String(describing: dotted))")
                return
            }
        }

        @Test func relativeOrMissingProgramIsRefused() throws {
            let relative = refusal(HookRefusal.self) { _ = try DeclaredHooks([HookDeclaration(name: "x", program: "echo")]) }
            #expect(relative == .invalidProgramPath(hook: "x", path: Array("echo".utf8), reason: .notAbsolute))
            let missing = refusal(HookRefusal.self) {
                _ = try DeclaredHooks([HookDeclaration(name: "x", program: "/usr/bin/bulkhead-no-such-program")])
            }
            guard case .programWalkFailed(_, _, true, .noSuchFileOrDirectory)? = missing else {
                Issue.record("expected programWalkFailed ENOENT, got \(String(describing: missing))")
                return
            }
        }

        @Test func nonExecutableOrWorldWritableProgramIsRefused() throws {
            try withFixture { fixture in
                let plain = try script(fixture, "plain", "true", mode: 0o644)
                let refused = refusal(HookRefusal.self, fixture: fixture) {
                    _ = try DeclaredHooks([HookDeclaration(name: "x", program: plain)])
                }
                guard case .programNotExecutable? = refused else {
                    Issue.record("expected programNotExecutable, got \(String(describing: refused))")
                    return
                }
                let open = try script(fixture, "open", "true", mode: 0o777)
                #expect(chmod(open, 0o777) == 0)  // past the umask
                let writable = refusal(HookRefusal.self, fixture: fixture) {
                    _ = try DeclaredHooks([HookDeclaration(name: "x", program: open)])
                }
                guard case .programWritableByOthers? = writable else {
                    Issue.record("expected programWritableByOthers, got \(String(describing: writable))")
                    return
                }
            }
        }

        @Test func programReplacedAfterDeclarationIsRefused() throws {
            try withFixture { fixture in
                let program = try script(fixture, "hook", "echo declared")
                let hooks = try DeclaredHooks([HookDeclaration(name: "hook", program: program)])
                try script(fixture, "evil", "echo replaced")
                try fixture.rename("evil", "hook")
                let refused = refusal(HookRefusal.self, fixture: fixture) { _ = try hooks.run(name: "hook") }
                guard case .programChanged? = refused else {
                    Issue.record("expected programChanged, got \(String(describing: refused))")
                    return
                }
            }
        }

        @Test func execFailureIsReportedWithItsErrno() throws {
            try withFixture { fixture in
                let program = try fixture.file("broken", contents: "#!/nonexistent/interpreter\n", mode: 0o755)
                let hooks = try DeclaredHooks([HookDeclaration(name: "broken", program: program)])
                let refused = refusal(HookRefusal.self, fixture: fixture) { _ = try hooks.run(name: "broken") }
                #expect(refused == .execFailed(hook: "broken", errno: .noSuchFileOrDirectory))
            }
        }

        @Test func declaredArgumentWithNulByteIsRefused() throws {
            let refused = refusal(HookRefusal.self) {
                _ = try DeclaredHooks([HookDeclaration(name: "x", program: "/usr/bin/echo", arguments: ["a\u{0}b"])])
            }
            guard case .invalidDeclaration? = refused else {
                Issue.record("expected invalidDeclaration, got \(String(describing: refused))")
                return
            }
        }

        @Test func hookDeclaredTwiceIsRefused() throws {
            let refused = refusal(HookRefusal.self) {
                _ = try DeclaredHooks([
                    HookDeclaration(name: "x", program: "/usr/bin/echo"), HookDeclaration(name: "x", program: "/usr/bin/true"),
                ])
            }
            #expect(refused == .declaredTwice(hook: "x"))
        }
    }
}
