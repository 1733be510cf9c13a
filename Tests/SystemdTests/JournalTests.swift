import BulkheadProtocol
import Foundation
import Glibc
import JournalLog
import Logging
import Testing
import TestSupport

/// Structured logging (DESIGN.md §8): journal fields, and a real helper logging into a test
/// journal socket bound where libsystemd sends (/run/systemd/journal/socket; journald does
/// not run on these machines).
@Suite(.serialized) struct JournalTests {
    func fields(_ entry: [[UInt8]]) -> [String: String] {
        var result: [String: String] = [:]
        for field in entry {
            let text = String(decoding: field, as: UTF8.self)
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            result[String(parts[0])] = String(parts[1])
        }
        return result
    }

    @Test func entriesCarryProcessRoleVMAndPriority() {
        let entry = fields(JournalFields.entry(
            message: "serving", level: .warning, identity: LogIdentity(process: "bulkhead-net", role: "net", vm: "web1")))
        #expect(entry == [
            "MESSAGE": "serving", "PRIORITY": "4", "SYSLOG_IDENTIFIER": "bulkhead-net", "BULKHEAD_PROCESS": "bulkhead-net",
            "BULKHEAD_ROLE": "net", "BULKHEAD_VM": "web1",
        ])
    }

    @Test func killReportsNameTheSyscallInItsOwnFields() {
        let entry = fields(JournalFields.entry(
            message: "killed by SIGSYS", level: .critical, identity: LogIdentity(process: "bulkhead", role: "parent"),
            metadata: ["syscall-name": "openat", "syscall-nr": "257", "vm": "db", "thread role": "vcpu"]))
        #expect(entry["SYSCALL_NAME"] == "openat" && entry["SYSCALL_NR"] == "257" && entry["PRIORITY"] == "2")
        #expect(entry["BULKHEAD_VM"] == "db" && entry["BULKHEAD_THREAD_ROLE"] == "vcpu")
    }

    @Test func metadataKeysBecomeJournalFieldNames() {
        #expect(JournalFields.fieldName("exit-status") == "BULKHEAD_EXIT_STATUS")
        #expect(JournalFields.fieldName("ü\n=x") == "BULKHEAD____X")
        #expect(JournalFields.fieldName(String(repeating: "a", count: 100)).count == 64)
    }

    @Test func withoutAJournalStreamTheHandlerIsPlainStderrLines() {
        #expect(BulkheadLogging.handler(for: LogIdentity(process: "p"), journal: false) is LineLogHandler)
        #expect(BulkheadLogging.handler(for: LogIdentity(process: "p"), journal: true) is JournalLogHandler)
    }

    /// A journal datagram's `NAME=value` lines (libsystemd's native format for short values).
    static func datagramFields(_ datagram: String) -> [String: String] {
        Dictionary(datagram.split(separator: "\n").map {
            let parts = $0.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }) { $1 }
    }

    /// A datagram socket bound where libsystemd sends (journald does not run here).
    static func testJournal() throws -> (listener: NotifyListener, cleanUp: () -> Void) {
        let directory = "/run/systemd/journal"
        let path = directory + "/socket"
        #expect(access(path, F_OK) != 0, "a journal runs here; this test binds its own socket")
        let madeDirectory = mkdir(directory, 0o755) == 0
        let listener = try NotifyListener(path: path)
        return (listener, {
            unlink(path)
            if madeDirectory { rmdir(directory) }
        })
    }

    @Test func parentUnderAJournalStreamSendsTheKillReportWithSyscallAndVMFields() throws {
        let (journal, cleanUp) = try Self.testJournal()
        defer { cleanUp() }
        let name = "journal-\(getpid())"
        let run = try runToEnd(
            BuiltProducts.path("bulkhead"),
            ["run", "--name", name, "--allow-insecure", "--seccomp", "trap", "--device", "escape-probe", "--cmdline", "escape=openat,-100,0,0 banner"],
            environment: ["JOURNAL_STREAM": "8:12345"])
        #expect(run.status == 159, "\(run.output)")
        // The parent's own lines went to the journal, not to stderr (which the journal would
        // otherwise record a second time, unstructured).
        #expect(!run.output.contains("bulkhead: forbidden call"), "\(run.output)")
        let entries = try #require(journal.until("MESSAGE=forbidden call"), "no kill report reached the journal")
        let starting = Self.datagramFields(try #require(entries.first { $0.contains("MESSAGE=starting VM") }))
        #expect(starting["BULKHEAD_VM"] == name && starting["BULKHEAD_ROLE"] == "parent" && starting["SYSLOG_IDENTIFIER"] == "bulkhead")
        let report = Self.datagramFields(entries.last!)
        #expect(report["SYSCALL_NAME"] == "openat" && report["SYSCALL_NR"] == "257", "\(report)")
        #expect(report["PRIORITY"] == "2" && report["BULKHEAD_VM"] == name && report["BULKHEAD_PROCESS"] == "bulkhead")
        #expect(report["BULKHEAD_KILLED_PROCESS"] == "worker" && report["BULKHEAD_THREAD"] == "vcpu0", "\(report)")
        #expect(report["BULKHEAD_KILLED_PID"].flatMap(Int32.init) != nil, "\(report)")
    }

    @Test func confinedHelperLogsStructuredEntriesToTheJournalSocket() throws {
        let (journal, cleanUp) = try Self.testJournal()
        defer { cleanUp() }

        let scratch = try ScratchDirectory()
        let disk = try scratch.write("disk.img", "disk")
        let config = try scratch.write("block.conf", "file ro:\(disk)\n")
        let helper = try ActivatedHelper(
            program: "bulkhead-block", socketPath: scratch.path + "/block.sock",
            extraEnvironment: ["JOURNAL_STREAM": "8:12345", "BULKHEAD_VM": "web7"], arguments: ["--listen", "--config", config])
        let socket = try connectSeqPacket(to: helper.socketPath)  // the first connection starts it
        let first = try #require(journal.until("MESSAGE=starting")?.last)
        let starting = Self.datagramFields(first)
        #expect(starting["MESSAGE"] == "starting; confining as block, listening", "\(first)")
        #expect(starting["BULKHEAD_PROCESS"] == "bulkhead-block" && starting["BULKHEAD_ROLE"] == "block")
        #expect(starting["BULKHEAD_VM"] == "web7", "the VM named in the helper's environment")
        #expect(starting["SYSLOG_IDENTIFIER"] == "bulkhead-block" && starting["PRIORITY"] == "6")

        // After confinement: an error reply is logged through the socket opened before it.
        let client = RequestClient(socket: socket)
        _ = try client.hello()
        #expect(throws: ProtocolError.self) { _ = try client.call(BlockOpenRequest(path: "/etc/shadow", access: .readOnly)) }
        let refused = try #require(journal.until("MESSAGE=error reply"))
        #expect(refused.last!.contains("BULKHEAD_ROLE=block\n") && refused.last!.contains("PRIORITY=5\n"))
        socket.close()
        let status = try String(contentsOfFile: "/proc/\(helper.pid)/status", encoding: .utf8)
        #expect(status.contains("Seccomp:\t2"))
        #expect(helper.stop() == 0)
    }
}
