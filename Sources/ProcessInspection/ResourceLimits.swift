/// One line of /proc/PID/limits: `Max open files            1024                 4096                 files`.
public struct ResourceLimit: Equatable, Sendable {
    public let name: String
    /// nil is `unlimited`.
    public let soft: UInt64?
    public let hard: UInt64?

    public init(name: String, soft: UInt64?, hard: UInt64?) {
        self.name = name
        self.soft = soft
        self.hard = hard
    }

    /// Parses the file's text; the header and malformed lines are skipped. The name column is
    /// 26 characters wide (fs/proc/base.c prints "%-25s %-20s %-20s %-10s").
    public static func parse(_ text: String) -> [ResourceLimit] {
        var limits: [ResourceLimit] = []
        for line in text.split(separator: "\n") {
            let bytes = Array(line.utf8)
            guard bytes.count > 26, line.hasPrefix("Max ") else { continue }
            let name = Substring(String(decoding: bytes[..<25], as: UTF8.self)).trimmingSpaces()
            let fields = String(decoding: bytes[25...], as: UTF8.self).split(separator: " ")
            guard fields.count >= 2, let soft = value(fields[0]), let hard = value(fields[1]) else { continue }
            limits.append(ResourceLimit(name: String(name), soft: soft.number, hard: hard.number))
        }
        return limits
    }

    /// A soft or hard value: a number, or nil for `unlimited`.
    private struct Value { let number: UInt64? }

    private static func value(_ field: Substring) -> Value? {
        if field == "unlimited" { return Value(number: nil) }
        return UInt64(field).map { Value(number: $0) }
    }

    /// `1024` or `unlimited`.
    public static func text(_ value: UInt64?) -> String { value.map { "\($0)" } ?? "unlimited" }
}
