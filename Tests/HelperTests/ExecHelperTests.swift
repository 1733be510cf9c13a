import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import Testing

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
        #expect(text(try run(helper, "env")) == "PATH=/usr/bin:/bin\n")
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
