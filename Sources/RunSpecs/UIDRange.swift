import Vocabulary

/// `--uid-range FIRST-LAST`: 1000 ≤ FIRST ≤ LAST < 2^32 - 1 (the worker's uid is chosen from it).
public enum UIDRange {
    /// Both numbers are decimal digits only: "1000--2000", "-1000-2000" or "+1000-2000" are
    /// typos, not ranges.
    public static func parse(_ text: String) throws(ConfigurationError) -> ClosedRange<UInt32> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let first = UInt32(parts[0]), let last = UInt32(parts[1]), first >= 1000, first <= last, last < UInt32.max
        else { throw ConfigurationError("--uid-range \(text)", "expected FIRST-LAST with 1000 <= FIRST <= LAST") }
        return first...last
    }
}
