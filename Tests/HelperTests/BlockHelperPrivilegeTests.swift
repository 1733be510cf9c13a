import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import Testing
import TestSupport

/// `bulkhead-block` as `bulkhead run` starts it as root (BULKHEAD_RUN_AS): no capability at
/// all, so it opens a declared file only where owner, group and mode let its account in,
/// which is why the parent checks the declared files for that account before starting it.
extension BlockHelperTests {
    @Test func asTheHelperAccountItHoldsNoCapabilityAndOpensOnlyWhatTheModeBitsAllow() throws {
        try #require(geteuid() == 0, "needs root: the helper changes its uid only when started as root")
        let account = try #require(HelperUserFiles.account, "no \(HelperUserFiles.user) account (make deps creates it)")
        let fixture = try BlockFixture()
        #expect(chmod(fixture.root, 0o711) == 0)  // mkdtemp's 0700 would refuse everything
        HelperUserFiles.grant(fixture.path("spare.img"))  // rw: the account's own file
        // disk.img stays 0644 root (others may read); sub/ stays 0700 root (no one may search).
        #expect(chmod(fixture.path("sub"), 0o700) == 0)
        let helper = try RunningHelper(
            "bulkhead-block", fixture.declarations, environment: ["BULKHEAD_RUN_AS=\(account.uid):\(account.gid)"])
        #expect(try helper.hello() == "bulkhead-block")
        let status = try helper.procStatus()
        #expect(status["Uid"] == Array(repeating: "\(account.uid)", count: 4).joined(separator: "\t"))
        #expect(status["Groups"] == "", "supplementary groups: \(status["Groups"] ?? "?")")
        for set in ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] {
            #expect(status[set] == "0000000000000000", "\(set): \(status[set] ?? "?")")
        }
        #expect(status["NoNewPrivs"] == "1")

        let readOnly = try helper.client!.call(BlockOpenRequest(path: fixture.path("disk.img"), access: .readOnly))
        #expect(readOnly.fds.count == 1)
        readOnly.fds.forEach { try? $0.close() }
        let readWrite = try helper.client!.call(BlockOpenRequest(path: fixture.path("spare.img"), access: .readWrite))
        #expect(readWrite.fds.count == 1)
        readWrite.fds.forEach { try? $0.close() }
        // Declared (checked as root at start-up), but behind a directory the account cannot
        // search: without CAP_DAC_OVERRIDE the open is refused.
        do {
            let response = try helper.client!.call(BlockOpenRequest(path: fixture.path("sub/nested.img"), access: .readOnly))
            response.fds.forEach { try? $0.close() }
            Issue.record("an fd was handed out for a file the helper's account cannot reach")
        } catch {
            let message = try #require(refusal(error), "\(error)")
            #expect(message.contains("permission denied"), "\(message)")
        }
        _ = try helper.hello()  // still serving
    }
}
