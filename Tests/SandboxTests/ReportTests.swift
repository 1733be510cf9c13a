import Foundation
import Sandbox
import Testing
import TestSupport

/// A forbidden call is named: in trap mode by the SIGSYS reporter, in kill mode by the
/// kernel's own audit record.
@Suite struct ReportTests {
    @Test(arguments: [("vcpu", "openat"), ("io", "socket"), ("control", "execve"), ("block", "ptrace")])
    func trapModeReportNamesSyscallAndThread(_ roleName: String, _ callName: String) throws {
        let role = try #require(Role(rawValue: roleName))
        let call = try #require(DangerousCall.catalog.first { $0.name == callName })
        let outcome = try runProbe(probeArguments(role: role, mode: .trap, call: call.name, arguments: call.arguments))
        #expect(outcome.end == .exited(ForbiddenCallReport.exitStatus), "\(outcome)")
        let report = try #require(outcome.trapReport, "no report in \(outcome)")
        #expect(report.syscall?.name == callName)
        #expect(report.thread == (role.isThreadRole ? role.threadName() : "probe"))
        #expect(report.description.contains(callName))
    }

    @Test func trapModeReportNamesTheForeignABI() throws {
        let outcome = try runProbe(probeArguments(role: .vcpu, mode: .trap, abi: .i386, call: "write", arguments: []))
        let report = try #require(outcome.trapReport, "no report in \(outcome)")
        #expect(report.syscall?.abi == .i386)
        #expect(report.syscall?.name == "write")
        #expect(report.thread == "vcpu0")
    }

    @Test func trapModeRefusesReplacingTheReporter() throws {
        let outcome = try runProbe(
            probeArguments(role: .workerBase, mode: .trap, call: "rt_sigaction", arguments: ["31", "0", "0", "8"]))
        #expect(outcome.trapReport?.syscall?.name == "rt_sigaction", "\(outcome)")
    }

    /// The kernel rate-limits its audit lines: a miss is retried only when the kernel says it
    /// suppressed lines (KernelAuditRetry).
    @Test func killModeKernelRecordNamesSyscallAndThread() throws {
        var report: ForbiddenCallReport?
        let retry = try KernelAuditRetry {
            let log = try KernelAuditLog()
            var pid: Int32 = 0
            let outcome = try runProbe(
                probeArguments(role: .vcpu, call: "openat", arguments: ["-100", "str:/etc/hostname", "0"])
            ) { pid = $0 }
            #expect(outcome.killedBySIGSYS)
            for _ in 0..<10 where report == nil {
                report = log.forbiddenCall(pid: pid, process: "probe")
                if report == nil { Thread.sleep(forTimeInterval: 0.05) }
            }
            return report != nil
        }
        #expect(retry.missesWereRateLimited, "\(retry.misses) probes found no record without the kernel suppressing lines")
        let found = try #require(report, "no kernel record in \(retry.attempts) attempts")
        #expect(found.source == .kernelAudit)
        #expect(found.syscall?.name == "openat")
        #expect(found.syscall?.number == 257)
        #expect(found.thread == "vcpu0")
        #expect(found.role == .vcpu)
    }

    @Test func auditRecordParserReadsTheKernelFormat() throws {
        let line: Substring = """
            audit: type=1326 audit(1795663842.720:7): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=2778 \
            comm="vcpu0" exe="/usr/bin/bulkhead-worker" sig=31 arch=c000003e syscall=257 compat=0 ip=0x1 code=0x80000000
            """
        let report = try #require(ForbiddenCallReport.parseAuditRecord(line, process: "worker"))
        #expect(report.pid == 2778)
        #expect(report.thread == "vcpu0")
        #expect(report.syscall?.name == "openat")
    }

    @Test(arguments: [
        "", "bulkhead-sigsys", "bulkhead-sigsys syscall=x arch=0xc000003e pid=1",
        "bulkhead-sigsys syscall=1 arch=c000003e pid=1", "audit: type=1326 pid=1",
        "bulkhead-sigsys syscall=99999999999 arch=0xc000003e thread=a pid=1",
    ])
    func malformedReportsAreNotParsed(_ line: String) {
        #expect(ForbiddenCallReport.parseTrapReport(line[...], process: "p") == nil)
        #expect(ForbiddenCallReport.parseAuditRecord(line[...], process: "p") == nil)
    }

    @Test func unknownSyscallNumberIsReportedAsANumber() throws {
        let report = try #require(
            ForbiddenCallReport.parseTrapReport("bulkhead-sigsys syscall=4000 arch=0xc000003e thread=io pid=7", process: "worker"))
        #expect(report.syscall == nil)
        #expect(report.description.contains("syscall number 4000"))
    }
}
