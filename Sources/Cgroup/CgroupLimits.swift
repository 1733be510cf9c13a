import Vocabulary


/// `bulkhead run --memory-limit SIZE --pids-limit N` (DESIGN.md §7): what is written to the
/// VM cgroup's `memory.max` and `pids.max`. Values arrive as text and are checked here, so a
/// bad one is a configuration error naming the option.
public struct CgroupLimits: Equatable, Sendable {
    public var memoryBytes: UInt64?
    public var pids: UInt64?

    public init(memoryBytes: UInt64? = nil, pids: UInt64? = nil) {
        self.memoryBytes = memoryBytes
        self.pids = pids
    }

    public var isEmpty: Bool { memoryBytes == nil && pids == nil }

    /// The controllers these limits need, each with the file and value to write.
    public var writes: [(controller: CgroupController, value: UInt64)] {
        (memoryBytes.map { [(CgroupController.memory, $0)] } ?? []) + (pids.map { [(CgroupController.pids, $0)] } ?? [])
    }

    /// Far below what the kernel can enforce usefully, far above any machine: the ranges.
    public static let memoryRange: ClosedRange<UInt64> = (4 << 20)...(1 << 50)
    public static let pidsRange: ClosedRange<UInt64> = 1...4_194_304  // PID_MAX_LIMIT

    /// `SIZE`: bytes, or a number with K, M, G or T (binary: 1024, 1024², …), optionally
    /// followed by `iB` or `B` (`256M`, `256MiB`, `1g`, `1048576`).
    public static func memory(_ text: String) throws(ConfigurationError) -> UInt64 {
        let item = "--memory-limit \(text)"
        var digits = Substring(text)
        var shift: UInt64 = 0
        for suffix in ["ib", "b"] where digits.lowercased().hasSuffix(suffix) && digits.count > suffix.count {
            digits = digits.dropLast(suffix.count)
            break
        }
        if let last = digits.last, let unit = "kmgt".firstIndex(of: Character(last.lowercased())) {
            shift = 10 * UInt64("kmgt".distance(from: "kmgt".startIndex, to: unit) + 1)
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = UInt64(digits) else {
            throw ConfigurationError(item, "expected a size such as 256M, 2G or 1073741824 (K, M, G, T are powers of 1024)")
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow, memoryRange.contains(bytes) else {
            throw ConfigurationError(item, "must be between 4M and 1P")
        }
        return bytes
    }

    /// `N`: a task count (every thread counts), 1 ≤ N ≤ 4194304.
    public static func pids(_ text: String) throws(ConfigurationError) -> UInt64 {
        guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = UInt64(text), pidsRange.contains(number) else {
            throw ConfigurationError("--pids-limit \(text)", "expected a whole number from 1 to \(pidsRange.upperBound)")
        }
        return number
    }
}

/// A controller whose limit bulkhead writes.
public enum CgroupController: String, Sendable, CaseIterable {
    case memory
    case pids

    public var limitFile: String { "\(rawValue).max" }
    public var option: String { self == .memory ? "--memory-limit" : "--pids-limit" }
}
