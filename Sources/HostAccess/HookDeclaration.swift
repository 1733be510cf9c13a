/// One hook the operator allows: a name the worker asks for, an absolute program path and
/// the fixed arguments it always gets. Arguments are passed as argv to execve, never
/// through a shell, so `;`, `$(…)` or `*` in them are just bytes.
public struct HookDeclaration: Equatable, Sendable {
    public let name: String
    public let program: String
    public let arguments: [String]
    /// How many extra arguments a request may append after the fixed ones; 0 (the
    /// default) means none. Extra arguments are validated by `HookArguments.validateExtra`.
    public let extraArgumentLimit: Int

    public init(name: String, program: String, arguments: [String] = [], extraArgumentLimit: Int = 0) {
        self.name = name
        self.program = program
        self.arguments = arguments
        self.extraArgumentLimit = extraArgumentLimit
    }
}

/// The bounds every run is held to.
public struct HookLimits: Equatable, Sendable {
    /// At this point the hook's whole process group gets SIGKILL and the result says timedOut.
    public var timeLimit: Duration
    /// Output (stdout and stderr together) kept; the rest is read and discarded so the
    /// hook never blocks on a full pipe, and the result says truncated.
    public var outputCap: Int

    public init(timeLimit: Duration = .seconds(30), outputCap: Int = 64 * 1024) {
        self.timeLimit = timeLimit
        self.outputCap = outputCap
    }
}
