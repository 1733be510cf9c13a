import Vocabulary

/// What a filter does with a call its profile does not allow.
public enum FilterMode: String, CaseIterable, Sendable {
    /// SECCOMP_RET_KILL_PROCESS: the whole process dies with SIGSYS. The default.
    case kill
    /// SECCOMP_RET_TRAP: a SIGSYS handler reports the call, then the process exits 159.
    /// Once the handler is in, sigaltstack and rt_sigaction for SIGSYS are refused.
    case trap
    /// SECCOMP_RET_LOG: allowed and logged by the kernel. For profiling; never the default.
    case log
    /// No filter at all. Only the test probe and measurements use it.
    case none

    /// `--seccomp MODE` as every command line takes it: the parent's, the worker's and the
    /// helpers' (which words the refusal their own way).
    public init(parsing text: String) throws(ConfigurationError) {
        guard let mode = FilterMode(rawValue: text) else {
            throw ConfigurationError("--seccomp \(text)", "expected kill, trap, log or none")
        }
        self = mode
    }

    /// Modes that leave a process unconfined; refused under the security policy flags.
    public var isInsecure: Bool { self == .log || self == .none }
}
