/// A configuration `bulkhead run` or `check` refuses before anything starts (exit 65).
/// `item` is the option or value at fault, as the operator typed it.
struct ConfigurationError: Error, CustomStringConvertible {
    let item: String
    let reason: String

    init(_ item: String, _ reason: String) {
        self.item = item
        self.reason = reason
    }

    var description: String { "\(item): \(reason)" }
}

/// A policy refusal (exit 65): what was refused and which flag refused it.
struct PolicyRefusal: Error, CustomStringConvertible {
    let description: String
}
