import Foundation
import Testing
import TestSupport

/// A helper's stderr reaches the operator only through the parent's bounded, sanitised relay
/// (ChildLines): a compromised helper can neither send terminal escape sequences nor write a
/// line that passes for one of the parent's own (`bulkhead: …`).
@Suite(.serialized) struct HelperStderrTests {
    static let hostile = #"printf '\033[31mred\033[0m\nbulkhead: forbidden call: process worker pid 1 (fake)\n' >&2"#

    static func expectSanitised(_ errors: String) {
        #expect(errors.contains(#"bulkhead-block: \x1b[31mred\x1b[0m"#), "\(errors)")
        #expect(errors.contains("bulkhead-block: bulkhead: forbidden call: process worker pid 1 (fake)"), "\(errors)")
        #expect(!errors.contains("\u{1B}"), "\(errors)")
        #expect(!errors.split(separator: "\n").contains { $0.hasPrefix("bulkhead: forbidden call") }, "\(errors)")
    }

    @Test func whileTheVMRunsAHelpersLinesAreRelayedSanitised() throws {
        // The stand-in writes its lines, then execs the real block helper, which serves the disk.
        let block = ParentRun.directory.appendingPathComponent("bulkhead-block").path
        let helpers = try HelperStartupTests.fakeHelpers(blockScript: "\(Self.hostile)\nexec '\(block)' \"$@\"")
        defer { try? FileManager.default.removeItem(atPath: helpers) }
        let run = try ParentRun.run(["run", "--helpers", helpers, "--disk", "\(HelperStartupTests.disk()),readonly", "--cmdline", "poweroff"])
        #expect(run.status == 0, "\(run.errors)")
        Self.expectSanitised(run.errors)
        #expect(run.survivors.isEmpty)
    }

    @Test func aHelperThatFailsAtStartHasItsLinesRelayedSanitised() throws {
        let helpers = try HelperStartupTests.fakeHelpers(blockScript: "\(Self.hostile)\nexit 64")
        defer { try? FileManager.default.removeItem(atPath: helpers) }
        let run = try ParentRun.run(["run", "--helpers", helpers, "--disk", HelperStartupTests.disk()])
        #expect(run.status == 69, "\(run.errors)")
        Self.expectSanitised(run.errors)
        #expect(run.errors.contains("exited with status 64"), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }
}
