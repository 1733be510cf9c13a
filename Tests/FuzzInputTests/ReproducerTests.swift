import Foundation
import FuzzEntries
import Testing

/// What each fixed fuzz finding answers now: the input that crashed, from
/// Tests/FuzzInputs/TARGET/, and the refusal (or acceptance) the fix gives it.
@Suite struct ReproducerTests {
    static func outcome(_ target: String, _ input: String) throws -> FuzzOutcome {
        let file = FuzzInputTests.inputs.appendingPathComponent(target).appendingPathComponent(input)
        return try #require(FuzzTarget.named(target)).entry(Array(try Data(contentsOf: file)))
    }

    static func refusal(_ outcome: FuzzOutcome) -> String? {
        if case .refused(let reason) = outcome { return reason }
        return nil
    }

    /// A bzImage whose protected-mode kernel is 512 bytes: the 64-bit entry (0x200 into it)
    /// was its end, so the vCPU would have started on whatever followed the kernel.
    @Test func bzImageWhoseKernelEndsAtItsEntryIsRefused() throws {
        let reason = try #require(Self.refusal(try Self.outcome("bzimage-loader", "crash-entry-past-kernel-end")))
        #expect(reason.contains("its 64-bit entry is at 0x200"), "\(reason)")
    }

    /// `--uid-range 2000--22636`: split("-") dropped the empty field and took it as
    /// 2000-22636; a typo is refused now, as is a sign (`+1000-2000`).
    @Test func uidRangeWithADoubleDashIsRefused() throws {
        let reason = try #require(Self.refusal(try Self.outcome("run-options", "crash-uid-range-double-dash")))
        #expect(reason.hasPrefix("--uid-range 2000--22636: expected FIRST-LAST"), "\(reason)")
        #expect(Self.refusal(try Self.outcome("run-options", "seed-uid-range-with-sign-refused")) != nil)
    }

    /// `mac=52:54:00:12:34:+1`: UInt8("+1", radix: 16) is 1, so a sign passed as a digit.
    @Test func macOctetWithASignIsRefused() throws {
        let reason = try #require(Self.refusal(try Self.outcome("run-options", "seed-mac-with-sign-refused")))
        #expect(reason.contains("expected six hex octets"), "\(reason)")
    }
}
