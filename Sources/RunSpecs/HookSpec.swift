import Vocabulary

/// `--hook NAME=/abs/program`, split and the name checked; the program is checked on disk
/// by `RunConfiguration`.
public struct HookSpec: Equatable, Sendable {
    public let name: String
    public let program: String

    public init(parsing text: String) throws(ConfigurationError) {
        guard let eq = text.firstIndex(of: "=") else { throw ConfigurationError("--hook \(text)", "expected NAME=/abs/program") }
        let name = String(text[..<eq]), program = String(text[text.index(after: eq)...])
        guard Names.isValidHookName(name) else {
            throw ConfigurationError("--hook \(text)", "hook names are 1-64 bytes of [A-Za-z0-9_.-]")
        }
        // A hook's name is the phase bulkhead run asks for it in; another name would never run.
        guard HookPhase(rawValue: name) != nil else {
            throw ConfigurationError(
                "--hook \(name)", "not a hook phase; one of \(HookPhase.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.name = name
        self.program = program
    }
}

/// `--hook-arg NAME=ARG`: one fixed argument (any bytes but NUL) for a declared hook.
public struct HookArgumentSpec: Equatable, Sendable {
    public let name: String
    public let argument: String

    public init(parsing text: String) throws(ConfigurationError) {
        guard let eq = text.firstIndex(of: "=") else { throw ConfigurationError("--hook-arg \(text)", "expected NAME=ARG") }
        name = String(text[..<eq])
        argument = String(text[text.index(after: eq)...])
    }
}
