import CSeccomp

/// A check on one syscall argument (0…5), compared as the kernel passes it: 64 bits.
/// Several conditions on one rule must all hold.
public struct ArgumentCondition: Hashable, Sendable, CustomStringConvertible {
    public enum Comparison: Hashable, Sendable {
        case equal(UInt64)
        case notEqual(UInt64)
        case less(UInt64)
        case lessOrEqual(UInt64)
        case greater(UInt64)
        case greaterOrEqual(UInt64)
        /// `argument & mask == value`
        case maskedEqual(mask: UInt64, value: UInt64)

        var isEquality: Bool { if case .equal = self { true } else { false } }
    }

    public let index: Int
    public let comparison: Comparison

    public static func arg(_ index: Int, _ comparison: Comparison) -> ArgumentCondition {
        precondition((0...5).contains(index), "syscalls have six arguments")
        return ArgumentCondition(index: index, comparison: comparison)
    }

    /// `argument & mask == 0`: none of the mask's bits set (e.g. no PROT_EXEC).
    public static func arg(_ index: Int, hasNoneOf mask: UInt64) -> ArgumentCondition {
        .arg(index, .maskedEqual(mask: mask, value: 0))
    }

    public func holds(for arguments: [UInt64]) -> Bool {
        let a = arguments[index]
        switch comparison {
        case .equal(let v): return a == v
        case .notEqual(let v): return a != v
        case .less(let v): return a < v
        case .lessOrEqual(let v): return a <= v
        case .greater(let v): return a > v
        case .greaterOrEqual(let v): return a >= v
        case .maskedEqual(let mask, let v): return a & mask == v
        }
    }

    /// libseccomp's form of the condition.
    var seccompComparison: scmp_arg_cmp {
        func cmp(_ op: scmp_compare, _ a: UInt64, _ b: UInt64 = 0) -> scmp_arg_cmp {
            scmp_arg_cmp(arg: UInt32(index), op: op, datum_a: a, datum_b: b)
        }
        switch comparison {
        case .equal(let v): return cmp(SCMP_CMP_EQ, v)
        case .notEqual(let v): return cmp(SCMP_CMP_NE, v)
        case .less(let v): return cmp(SCMP_CMP_LT, v)
        case .lessOrEqual(let v): return cmp(SCMP_CMP_LE, v)
        case .greater(let v): return cmp(SCMP_CMP_GT, v)
        case .greaterOrEqual(let v): return cmp(SCMP_CMP_GE, v)
        case .maskedEqual(let mask, let v): return cmp(SCMP_CMP_MASKED_EQ, mask, v)
        }
    }

    public var description: String {
        let a = "arg\(index)"
        switch comparison {
        case .equal(let v): return "\(a) == \(hex(v))"
        case .notEqual(let v): return "\(a) != \(hex(v))"
        case .less(let v): return "\(a) < \(hex(v))"
        case .lessOrEqual(let v): return "\(a) <= \(hex(v))"
        case .greater(let v): return "\(a) > \(hex(v))"
        case .greaterOrEqual(let v): return "\(a) >= \(hex(v))"
        case .maskedEqual(let mask, let v): return "\(a) & \(hex(mask)) == \(hex(v))"
        }
    }
}

func hex(_ value: UInt64) -> String { value < 10 ? String(value) : "0x" + String(value, radix: 16) }
