import BulkheadProtocol
import Foundation
import Glibc
import SystemdUnits
import Testing
import TestSupport

/// Each helper starts and serves under its generated unit's SystemCallFilter= (loaded before
/// exec, as systemd does, by bulkhead-unit-exec), with its own filter stacked on top: the
/// start-up calls the unit adds are enough, and nothing the helper does later is missing.
@Suite(.serialized) struct UnitFilterTests {
    /// The helper under its unit's filter, socket-activated, with a test NOTIFY_SOCKET.
    func start(_ helper: ServiceHelper, config: String, in scratch: ScratchDirectory) throws -> (ActivatedHelper, NotifyListener) {
        var options = UnitOptions(helperDirectory: BuiltProducts.directory)
        options.prefix = "t"
        let unit = try scratch.write("t-\(helper.rawValue).service", try HelperUnits(options).serviceUnit(helper))
        let notify = try NotifyListener(path: scratch.path + "/notify-\(helper.rawValue).sock")
        let service = try ActivatedHelper(
            program: "bulkhead-unit-exec", socketPath: scratch.path + "/\(helper.rawValue).sock", notifySocket: notify.path,
            arguments: [unit, BuiltProducts.path(helper.program), "--listen", "--config", config])
        return (service, notify)
    }

    func expectConfinedTwice(_ service: ActivatedHelper, _ notify: NotifyListener) throws {
        let ready = try #require(notify.next())
        #expect(ready.hasPrefix("READY=1"), "\(ready)")
        let status = try String(contentsOfFile: "/proc/\(service.pid)/status", encoding: .utf8)
        #expect(status.contains("Seccomp_filters:\t2"), "the unit's filter and the helper's own")
    }

    @Test func blockHelperServesUnderItsUnitsSyscallFilter() throws {
        let scratch = try ScratchDirectory()
        let disk = try scratch.write("disk.img", String(repeating: "b", count: 4096))
        let (service, notify) = try start(.block, config: try scratch.write("b.conf", "file ro:\(disk)\n"), in: scratch)
        let socket = try connectSeqPacket(to: service.socketPath)
        try expectConfinedTwice(service, notify)
        let client = RequestClient(socket: socket)
        #expect(try client.hello().helper == "bulkhead-block")
        let response = try client.call(BlockOpenRequest(path: disk, access: .readOnly))
        #expect(response.fds.count == 1)
        for fd in response.fds { try fd.close() }
        socket.close()
        #expect(notify.until("STATUS=waiting for a connection, 1 session, 1 request") != nil)
        #expect(service.stop() == 0)
    }

    @Test func netHelperServesUnderItsUnitsSyscallFilter() throws {
        let scratch = try ScratchDirectory()
        let (service, notify) = try start(.net, config: try scratch.write("n.conf", "# no taps\n"), in: scratch)
        let socket = try connectSeqPacket(to: service.socketPath)
        try expectConfinedTwice(service, notify)
        let client = RequestClient(socket: socket)
        #expect(try client.hello().helper == "bulkhead-net")
        #expect(throws: ProtocolError.self) { _ = try client.call(NetOpenTapRequest(name: "bh-none0")) }
        socket.close()
        #expect(service.stop() == 0)
    }

    @Test func execHelperRunsAHookUnderItsUnitsSyscallFilter() throws {
        let scratch = try ScratchDirectory()
        let config = try scratch.write("e.conf", "hook hi=/usr/bin/echo\nhook-arg hi=hello\n")
        let (service, notify) = try start(.exec, config: config, in: scratch)
        let socket = try connectSeqPacket(to: service.socketPath)
        try expectConfinedTwice(service, notify)
        let client = RequestClient(socket: socket)
        #expect(try client.hello().helper == "bulkhead-exec")
        let run = try client.call(ExecRunHookRequest(hook: "hi", arguments: [])).reply
        #expect(run.exitStatus == 0 && String(decoding: run.stdout, as: UTF8.self) == "hello\n")
        socket.close()
        #expect(service.stop() == 0)
    }

    @Test func withoutTheStartUpCallsTheProfileAloneKillsTheHelperBeforeItServes() throws {
        let scratch = try ScratchDirectory()
        var options = UnitOptions(helperDirectory: BuiltProducts.directory)
        options.prefix = "t"
        let full = try HelperUnits(options).serviceUnit(.block)
        // Keep only the profile's own SystemCallFilter= lines (the last ones in the unit).
        let profileOnly = full.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("SystemCallFilter=") || full.components(separatedBy: "# block: ").last!.contains($0) }
            .joined(separator: "\n")
        #expect(profileOnly.components(separatedBy: "SystemCallFilter=").count == 2)
        let unit = try scratch.write("t-block.service", profileOnly)
        let config = try scratch.write("b.conf", "# nothing\n")
        let service = try ActivatedHelper(
            program: "bulkhead-unit-exec", socketPath: scratch.path + "/block.sock",
            arguments: [unit, BuiltProducts.path("bulkhead-block"), "--listen", "--config", config])
        let socket = try connectSeqPacket(to: service.socketPath)
        defer { socket.close() }
        #expect(service.waitForExit(seconds: 20) == 128 + SIGSYS)
    }
}
