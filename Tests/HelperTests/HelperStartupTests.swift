import BulkheadProtocol
import Foundation
import Glibc
import Testing
import TestSupport

/// What every helper does before and after serving: confinement before the first request,
/// fd hygiene, the command-line contract and its exit statuses, and its end.
@Suite struct HelperStartupTests {
    /// Each helper with declarations that are valid on this machine (no tap needed for net).
    static let helpers: [(program: String, arguments: [String])] = [
        ("bulkhead-block", ["--file", "ro:/etc/hostname"]),
        ("bulkhead-net", []),
        ("bulkhead-exec", ["--hook", "echo=/usr/bin/echo"]),
    ]

    @Test(arguments: helpers)
    func helperAnswersHelloConfinedWithNoNewPrivsSeccompFilterAndOnlyItsSocket(
        program: String, arguments: [String]
    ) throws {
        // A stray inheritable fd in the parent: the helper must close it.
        let stray = open("/dev/null", O_RDONLY)
        defer { close(stray) }
        let helper = try RunningHelper(program, arguments)
        #expect(try helper.hello() == program)
        let status = try helper.procStatus()
        #expect(status["NoNewPrivs"] == "1", "\(helper.log)")
        #expect(status["Seccomp"] == "2", "\(helper.log)")
        // Its socket only, but: the exec server also holds its end of the socketpair to its
        // hook launcher (fd 4), the block helper its declared file's directory (/etc).
        let fds = try helper.openFDs()
        #expect(Array(fds.prefix(4)) == [0, 1, 2, 3])
        let held = try fds.dropFirst(4).map { try helper.fdTarget($0) }
        switch program {
        case "bulkhead-exec": #expect(held.count == 1 && held[0].hasPrefix("socket:"), "\(held)")
        case "bulkhead-block": #expect(held == ["/etc"])
        default: #expect(held == [])
        }
    }

    @Test(arguments: helpers)
    func helperExitsZeroWhenItsPeerHangsUp(program: String, arguments: [String]) throws {
        let helper = try RunningHelper(program, arguments)
        _ = try helper.hello()
        helper.hangUp()
        #expect(helper.exitStatus() == 0, "\(helper.log)")
    }

    @Test(arguments: helpers)
    func helperDiesWhenItsParentDies(program: String, arguments: [String]) throws {
        // A shell stands in for the parent: it starts the helper on the socket it holds as
        // fd 3, writes the helper's pid to a file, and waits. The test keeps its own end
        // open, so only PR_SET_PDEATHSIG can end the helper when the shell is killed.
        let pidFile = "/tmp/bh-helper-pid-\(getpid())-\(UUID().uuidString)"
        defer { unlink(pidFile) }
        let (ours, theirs) = try SeqPacketSocket.pair()
        let script = "\"$0\" --socket-fd 3 \"$@\" & echo $! > \(pidFile); wait"
        let parent = try RunningHelper(
            "/bin/sh", ["-c", script, BuiltProducts.path(program)] + arguments, fd3: theirs.fileDescriptor.rawValue,
            socket: ours)
        theirs.close()
        try ours.setReceiveTimeout(microseconds: 20_000_000)
        #expect(try parent.hello() == program)
        let helperPID = try #require(pid_t(
            try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(processIsRunning(helperPID))

        kill(parent.pid, SIGKILL)
        _ = parent.waitForExit()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while processIsRunning(helperPID) && clock.now < deadline { usleep(10_000) }
        #expect(!processIsRunning(helperPID), "the helper outlived its parent")
        // Its end of the connection is gone with it.
        #expect(throws: ProtocolError.peerHungUp) { _ = try parent.client!.hello() }
    }

    /// Alive and not a zombie: /proc/PID/stat exists and its state is not Z or X.
    func processIsRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    @Test(arguments: [
        (["--socket-fd", "3", "--bogus", "x"], "unknown option \"--bogus\""),
        (["--file", "ro:/etc/hostname"], "--socket-fd is required"),
        (["--socket-fd", "2"], "--socket-fd \"2\": not an fd number"),
        (["--socket-fd", "3", "--seccomp", "maybe"], "--seccomp \"maybe\": not one of kill, trap, log, none"),
        (["--socket-fd", "3", "--seccomp"], "--seccomp needs a value"),
    ])
    func badCommandLineExits64NamingTheItem(arguments: [String], named: String) throws {
        let (ours, theirs) = try SeqPacketSocket.pair()
        defer { theirs.close() }
        let helper = try RunningHelper("bulkhead-block", arguments, fd3: theirs.fileDescriptor.rawValue, socket: ours)
        #expect(helper.exitStatus() == 64)
        #expect(helper.log.contains(named), "\(helper.log)")
        #expect(helper.log.split(separator: "\n").count == 1, "one line: \(helper.log)")
    }

    @Test func socketFDThatIsNotASeqPacketSocketExits64() throws {
        var pipeFDs: [Int32] = [-1, -1]
        #expect(pipe(&pipeFDs) == 0)
        defer { pipeFDs.forEach { close($0) } }
        let helper = try RunningHelper("bulkhead-net", ["--socket-fd", "3"], fd3: pipeFDs[0], socket: nil)
        #expect(helper.exitStatus() == 64)
        #expect(helper.log.contains("--socket-fd 3 is not an AF_UNIX SOCK_SEQPACKET socket"), "\(helper.log)")
    }

    @Test func socketAtAnotherFDNumberIsKeptAndEverythingElseClosed() throws {
        // --socket-fd 7: fds 3…6 (open in the test process, without CLOEXEC) must be closed.
        let (ours, theirs) = try SeqPacketSocket.pair()
        defer { theirs.close() }
        try ours.setReceiveTimeout(microseconds: 20_000_000)
        let script = "exec 4</dev/null 5</dev/null 6</dev/null 7<&3 3<&-; exec \"$0\" --socket-fd 7"
        let helper = try RunningHelper(
            "/bin/sh", ["-c", script, BuiltProducts.path("bulkhead-net")], fd3: theirs.fileDescriptor.rawValue,
            socket: ours)
        #expect(try helper.hello() == "bulkhead-net")
        #expect(try helper.openFDs() == [0, 1, 2, 7])
    }

    @Test func trapModeHelperIsConfinedAndServes() throws {
        let helper = try RunningHelper("bulkhead-block", ["--seccomp", "trap", "--file", "ro:/etc/hostname"])
        #expect(try helper.hello() == "bulkhead-block")
        #expect(try helper.procStatus()["Seccomp"] == "2")
        #expect(!helper.log.contains("warning"), "\(helper.log)")
    }

    @Test func seccompNoneLeavesTheHelperWithoutFilterAndWarnsOnStderr() throws {
        let helper = try RunningHelper("bulkhead-block", ["--seccomp", "none", "--file", "ro:/etc/hostname"])
        #expect(try helper.hello() == "bulkhead-block")
        let status = try helper.procStatus()
        #expect(status["Seccomp"] == "0")
        #expect(status["NoNewPrivs"] == "1")
        #expect(helper.log.contains("warning: --seccomp none leaves this helper unconfined"), "\(helper.log)")
    }

    @Test(arguments: helpers)
    func helperAnswersGarbageWithAnErrorAndKeepsServing(program: String, arguments: [String]) throws {
        let helper = try RunningHelper(program, arguments)
        let socket = try #require(helper.socket)
        for garbage in [Array("not a header".utf8), [UInt8](repeating: 0xFF, count: 64), [0x42]] {
            try socket.send(garbage)
            var reply = try socket.receive()
            defer { reply.closeFDs() }
            let header = try MessageHeader.decode(reply.bytes)
            #expect(header.kind == .error)
            #expect(reply.fds.isEmpty)
        }
        #expect(try helper.hello() == program)
    }

    @Test func helperGivenAnotherProtocolVersionAnswersOnceAndExits76() throws {
        let helper = try RunningHelper("bulkhead-net", [])
        var datagram = MessageHeader.datagram(
            kind: .request, requestID: 1, commandID: CommandCatalog.hello.id, body: HelloRequest().body, fdCount: 0)
        datagram[4] = 0x7F  // the version field (bytes 4..<6, little-endian)
        try helper.socket!.send(datagram)
        var reply = try helper.socket!.receive()
        reply.closeFDs()
        #expect(try MessageHeader.decode(reply.bytes).kind == .error)
        #expect(helper.exitStatus() == 76, "\(helper.log)")
        #expect(helper.log.contains("the peer speaks protocol version 127"), "\(helper.log)")
    }
}
