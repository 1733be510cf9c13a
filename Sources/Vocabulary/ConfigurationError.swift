/// A configuration `bulkhead run` or `check` refuses before anything starts (exit 65), or a
/// limit that cannot be applied on this host (Cgroup), or a value a process's own command line
/// refuses (`FilterMode(parsing:)`).
/// `item` is the option or value at fault, as the operator typed it.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let item: String
    public let reason: String

    public init(_ item: String, _ reason: String) {
        self.item = item
        self.reason = reason
    }

    public var description: String { "\(item): \(reason)" }
}
