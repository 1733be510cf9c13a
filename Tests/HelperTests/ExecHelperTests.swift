import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import Testing
import Vocabulary

/// `bulkhead-exec` through its socket: declared hooks run with their fixed arguments, a clean
/// environment and no inherited fds; anything else is refused; time and output are bounded.
@Suite struct ExecHelperTests {
    func run(_ helper: RunningHelper, _ hook: String, _ arguments: [String] = []) throws -> ExecRunHookReply {
        try helper.client!.call(ExecRunHookRequest(hook: hook, arguments: arguments)).reply
    }

    func text(_ reply: ExecRunHookReply) -> String { String(decoding: reply.stdout, as: UTF8.self) }

    @Test func declaredHookRunsWithItsFixedArgumentsInOrderAndNoShell() throws {
        let helper = try RunningHelper(
            "bulkhead-exec",
            ["--hook", "greet=/usr/bin/echo", "--hook-arg", "greet=hello", "--hook-arg", "greet=a b;$(id)",
             "--hook-arg", "greet=x=y"])
        let reply = try run(helper, "greet")
        #expect(reply == ExecRunHookReply(
            exitStatus: 0, signal: 0, stdout: Array("hello a b;$(id) x=y\n".utf8), truncated: false, timedOut: false))
    }

    @Test func hookExitStatusComesBack() throws {
        let helper = try RunningHelper("bulkhead-exec", ["--hook", "fail=/usr/bin/false", "--hook", "ok=/usr/bin/true"])
        #expect(try run(helper, "fail").exitStatus == 1)
        #expect(try run(helper, "ok").exitStatus == 0)
    }

    @Test func hookGetsACleanEnvironmentAndNoFdButItsOwn() throws {
        let helper = try RunningHelper(
            "bulkhead-exec",
            ["--hook", "env=/usr/bin/env", "--hook", "fds=/usr/bin/ls", "--hook-arg", "fds=/proc/self/fd"])
        #expect(text(try run(helper, "env")) == "PATH=/usr/bin:/bin\nBULKHEAD_PHASE=env\n")
        // 0 /dev/null, 1 and 2 the output pipe, 3 the directory ls is listing.
        #expect(text(try run(helper, "fds")) == "0\n1\n2\n3\n")
    }

    @Test func undeclaredHookAndArgumentInjectionAreRefusedAndTheHelperKeepsServing() throws {
        let helper = try RunningHelper("bulkhead-exec", ["--hook", "greet=/usr/bin/echo", "--hook-arg", "greet=hi"])
        let cases: [(String, [String], String)] = [
            ("sh", [], "refused hook \"sh\": not a declared hook"),
            ("/usr/bin/echo", [], "refused hook name \"/usr/bin/echo\""),
            ("greet", ["; rm -rf /"], "refused hook \"greet\": it takes no extra arguments"),
            ("greet", ["--help"], "refused hook \"greet\": it takes no extra arguments"),
            ("", [], "the name is empty"),
        ]
        for (hook, arguments, reason) in cases {
            do {
                let reply = try run(helper, hook, arguments)
                Issue.record("\(hook) \(arguments) ran: \(reply)")
            } catch {
                let message = try #require(refusal(error), "\(hook): \(error)")
                #expect(message.contains(reason), "\(hook): \(message)")
            }
        }
        #expect(text(try run(helper, "greet")) == "hi\n")
    }

    /// `up` and `down` (HookPhase.takesTap) get the tap as their one extra argument, after
    /// the fixed ones, and in BULKHEAD_TAP; BULKHEAD_VM is the helper's own $BULKHEAD_VM.
    @Test func tapPhaseGetsTheTapAfterItsFixedArgumentsAndInItsEnvironment() throws {
        let script = "echo \"args=$*\"; env | grep -v '^PWD=' | sort"
        let helper = try RunningHelper(
            "bulkhead-exec",
            ["--hook", "up=/usr/bin/dash", "--hook-arg", "up=-c", "--hook-arg", "up=\(script)", "--hook-arg", "up=sh",
             "--hook-arg", "up=fixed", "--hook", "prepare=/usr/bin/true"],
            environment: ["BULKHEAD_VM=vm-hooks"])
        let output = text(try run(helper, "up", ["tap0"]))
        #expect(output == """
            args=fixed tap0
            BULKHEAD_PHASE=up
            BULKHEAD_TAP=tap0
            BULKHEAD_VM=vm-hooks
            PATH=/usr/bin:/bin

            """, "\(output)")
        let refused: [(String, [String], String)] = [
            ("up", ["tap0", "tap1"], "refused hook \"up\""),
            ("up", ["-x"], "refused hook \"up\""),
            ("up", ["../tap"], "refused hook \"up\""),
            ("down", ["tap0"], "not a declared hook"),
            ("prepare", ["tap0"], "it takes no extra arguments"),
        ]
        for (hook, arguments, reason) in refused {
            do {
                let reply = try run(helper, hook, arguments)
                Issue.record("\(hook) \(arguments) ran: \(reply)")
            } catch {
                let message = try #require(refusal(error), "\(hook): \(error)")
                #expect(message.contains(reason), "\(hook) \(arguments): \(message)")
            }
        }
    }

    /// The server forks its launcher before it confines itself: two processes, each with
    /// its own filter. Killing the server ends the launcher and a running hook's whole group.
    @Test func serverAndLauncherAreConfinedApartAndDieTogetherWithTheHook() throws {
        let marker = "/tmp/bh-exec-group-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(marker) }
        let helper = try RunningHelper(
            "bulkhead-exec",
            ["--hook", "hang=/usr/bin/dash", "--hook-arg", "hang=-c",
             "--hook-arg", "hang=sleep 60 & echo $$ $! > \(marker).tmp; mv \(marker).tmp \(marker); wait"])
        _ = try helper.client!.hello()
        let children = try String(contentsOfFile: "/proc/\(helper.pid)/task/\(helper.pid)/children", encoding: .utf8)
            .split(separator: " ").compactMap { Int32($0) }
        #expect(children.count == 1, "one launcher: \(children)")
        let launcher = try #require(children.first)
        for pid in [helper.pid, launcher] {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            #expect(status.contains("NoNewPrivs:\t1") && status.contains("Seccomp:\t2"), "\(pid): \(status)")
            #expect(status.contains("Seccomp_filters:\t1"), "its own filter only, not the other's: \(status)")
        }
        // The request blocks while the hook runs: send it, then kill the server mid-hook.
        let request = ExecRunHookRequest(hook: "hang", arguments: [])
        _ = try helper.client!.send(command: ExecRunHookRequest.command, body: request.body)
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: marker) && Date() < deadline { usleep(10_000) }
        let pids = try String(contentsOfFile: marker, encoding: .utf8).split(separator: " ")
            .compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(pids.count == 2)
        kill(helper.pid, SIGKILL)
        _ = helper.exitStatus()
        let gone = Date().addingTimeInterval(5)
        func alive(_ pid: Int32) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return !stat.contains(") Z ")
        }
        while ([launcher] + pids).contains(where: alive) && Date() < gone { usleep(10_000) }
        for pid in [launcher] + pids { #expect(!alive(pid), "pid \(pid) outlived the exec helper") }
    }

    @Test func hangingHookIsKilledAtTheTimeLimitAndReportedTimedOut() throws {
        let helper = try RunningHelper(
            "bulkhead-exec", ["--hook", "hang=/usr/bin/sleep", "--hook-arg", "hang=10", "--hook-timeout-ms", "300"])
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try run(helper, "hang")
        let elapsed = clock.now - start
        #expect(reply.timedOut)
        #expect(reply.signal == SIGKILL)
        #expect(reply.exitStatus == -1)
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(5), "killed at the limit, not after sleep's 10 s")
        #expect(text(try run(helper, "hang")).isEmpty, "and it serves the next request")
    }

    @Test func floodingHookIsTruncatedAtTheProtocolFieldLimit() throws {
        let helper = try RunningHelper(
            "bulkhead-exec", ["--hook", "flood=/usr/bin/yes", "--hook-timeout-ms", "500"])
        let reply = try run(helper, "flood")
        #expect(reply.truncated)
        #expect(reply.stdout.count == ProtocolLimits.maxFieldLength)
        #expect(reply.stdout.allSatisfy { $0 == UInt8(ascii: "y") || $0 == UInt8(ascii: "\n") })
        #expect(reply.timedOut, "yes never ends by itself")
    }

    @Test func hookThatExitsAfterFloodingIsTruncatedButNotTimedOut() throws {
        let helper = try RunningHelper(
            "bulkhead-exec",
            ["--hook", "burst=/usr/bin/head", "--hook-arg", "burst=-c", "--hook-arg", "burst=100000",
             "--hook-arg", "burst=/dev/zero"])
        let reply = try run(helper, "burst")
        #expect(reply.exitStatus == 0)
        #expect(reply.truncated)
        #expect(!reply.timedOut)
        #expect(reply.stdout == [UInt8](repeating: 0, count: ProtocolLimits.maxFieldLength))
    }

    @Test func hookStaysUnderTheExecHelpersFilter() throws {
        // chroot(2) is in @privileged, which the exec profile excludes: the hook that calls it
        // is killed with SIGSYS. Unconfined (--seccomp none) the same hook succeeds.
        let declaration = ["--hook", "jail=/usr/sbin/chroot", "--hook-arg", "jail=/", "--hook-arg", "jail=/usr/bin/true"]
        let confined = try RunningHelper("bulkhead-exec", declaration)
        let killed = try run(confined, "jail")
        #expect(killed.signal == SIGSYS, "\(killed)")
        #expect(killed.exitStatus == -1)
        let unconfined = try RunningHelper("bulkhead-exec", ["--seccomp", "none"] + declaration)
        #expect(try run(unconfined, "jail").exitStatus == 0)
    }

    @Test(arguments: [
        (["--hook-arg", "ghost=1"], "--hook-arg \"ghost=1\": expected NAME=ARG for a hook declared with --hook"),
        (["--hook", "rel=usr/bin/echo"], "refused hook \"rel\": program path \"usr/bin/echo\": the path is relative"),
        (["--hook", "noequals"], "--hook \"noequals\": expected NAME=/absolute/program"),
        (["--hook", "missing=/usr/bin/bulkhead-no-such-program"], "refused hook \"missing\""),
        (["--hook", "bad name=/usr/bin/echo"], "refused hook name \"bad name\""),
        (["--hook", "dir=/usr/bin"], "refused hook \"dir\": the program is a directory"),
        (["--hook", "e=/usr/bin/echo", "--hook-timeout-ms", "0"], "--hook-timeout-ms \"0\": expected milliseconds"),
        (["--hook", "e=/usr/bin/echo", "--hook-timeout-ms", "5", "--hook-timeout-ms", "6"], "--hook-timeout-ms given twice"),
    ])
    func badHookDeclarationExits64NamingTheItem(arguments: [String], named: String) throws {
        let (ours, theirs) = try SeqPacketSocket.pair()
        defer { theirs.close() }
        let helper = try RunningHelper(
            "bulkhead-exec", ["--socket-fd", "3"] + arguments, fd3: theirs.fileDescriptor.rawValue, socket: ours)
        #expect(helper.exitStatus() == 64)
        #expect(helper.log.contains(named), "\(helper.log)")
    }
}
