import Vocabulary

/// A number option taken as text (`--memory`, `--cpus`, `--hook-timeout-ms`), so that a bad
/// one is a configuration error naming the item, like every other.
public enum NumberOption {
    public static func parse(_ text: String, _ flag: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let n = Int(text), range.contains(n) else {
            throw ConfigurationError("\(flag) \(text)", "expected a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }
}
