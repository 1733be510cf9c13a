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
}
