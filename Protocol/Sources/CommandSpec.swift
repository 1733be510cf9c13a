import Vocabulary

/// Feature groups an operator can deny as a whole (`--deny-feature GROUP` for helper
/// commands, `--deny-control-feature GROUP` for the control socket; DESIGN.md §6): a command
/// added to a denied group later is denied without editing a list.
public enum FeatureGroup: String, CaseIterable, Sendable {
    /// Runs operator-declared host programs: the power to start processes.
    case unrestricted
    /// For tests and benchmarks only; production helpers deny it.
    case testOnly = "test-only"
    /// Control socket: reads the VM's state and counters, changes nothing.
    case inspect
    /// Control socket: pauses, resumes, stops or resets the VM.
    case lifecycle
    /// Control socket: attaches to the guest's serial console (its input and output).
    case console
}

/// A command's security statement (DESIGN.md §6). A command with none says nothing.
public enum SecurityStatement: String, CaseIterable, Sendable {
    /// Supported where a security boundary matters.
    case secure
    /// Known not to be a boundary; refused under `--prohibit-insecure`.
    case insecure
}

/// One command of the catalog: what it is called, who serves it, what it takes and returns.
public struct CommandSpec: Sendable, Equatable {
    /// The header's command id.
    public let id: UInt16
    public let name: String
    public let helper: HelperKind
    public let summary: String
    /// The request body, field by field, in wire order.
    public let arguments: [FieldSpec]
    /// fds the request carries (every command in version 1 takes none).
    public let requestFDs: Int
    /// The reply body, field by field, in wire order.
    public let reply: [FieldSpec]
    /// fds every successful reply carries, exactly.
    public let replyFDs: Int
    public let groups: [FeatureGroup]
    public let security: SecurityStatement?

    public init(
        id: UInt16, name: String, helper: HelperKind, summary: String, arguments: [FieldSpec],
        requestFDs: Int = 0, reply: [FieldSpec], replyFDs: Int = 0, groups: [FeatureGroup] = [],
        security: SecurityStatement?
    ) {
        precondition(requestFDs <= ProtocolLimits.maxFDs && replyFDs <= ProtocolLimits.maxFDs)
        self.id = id
        self.name = name
        self.helper = helper
        self.summary = summary
        self.arguments = arguments
        self.requestFDs = requestFDs
        self.reply = reply
        self.replyFDs = replyFDs
        self.groups = groups
        self.security = security
    }

    /// Whether a helper of `kind` serves this command.
    public func isServed(by kind: HelperKind) -> Bool { helper == .any || helper == kind }
}
