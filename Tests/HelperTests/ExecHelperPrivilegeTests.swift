import BulkheadProtocol
import Foundation
import Glibc
import Testing
import TestSupport

/// `bulkhead-exec` as `bulkhead run` starts it as root (BULKHEAD_RUN_AS): no capability, and
/// the hooks it starts inherit nothing more.
extension ExecHelperTests {
    @Test func asTheHelperAccountItAndItsHooksHoldNoCapability() throws {
        try #require(geteuid() == 0, "needs root: the helper changes its uid only when started as root")
        let account = try #require(HelperUserFiles.account, "no \(HelperUserFiles.user) account (make deps creates it)")
        let helper = try RunningHelper(
            "bulkhead-exec", ["--hook", "status=/usr/bin/head", "--hook-arg", "status=-n", "--hook-arg", "status=80", "--hook-arg", "status=/proc/self/status"],
            environment: ["BULKHEAD_RUN_AS=\(account.uid):\(account.gid)"])
        #expect(try helper.hello() == "bulkhead-exec")
        let own = try helper.procStatus()
        // The hook's own /proc/self/status, as it ran.
        let reply = try run(helper, "status")
        #expect(reply.exitStatus == 0, "\(reply) \(helper.log)")
        let hook = Dictionary(
            text(reply).split(separator: "\n").compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }, uniquingKeysWith: { first, _ in first })
        for (who, status) in [("helper", own), ("hook", hook)] {
            #expect(status["Uid"] == Array(repeating: "\(account.uid)", count: 4).joined(separator: "\t"), "\(who)")
            #expect(status["Groups"] == "", "\(who): supplementary groups \(status["Groups"] ?? "?")")
            for set in ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] {
                #expect(status[set] == "0000000000000000", "\(who) \(set): \(status[set] ?? "?")")
            }
            #expect(status["NoNewPrivs"] == "1", "\(who)")
        }
    }
}
