/// What a finished hook run produced.
public struct HookResult: Equatable, Sendable {
    public enum Termination: Equatable, Sendable, CustomStringConvertible {
        case exited(status: Int32)
        case signaled(signal: Int32)

        public var description: String {
            switch self {
            case .exited(let status): return "exited with status \(status)"
            case .signaled(let signal): return "killed by signal \(signal)"
            }
        }
    }

    public let termination: Termination
    /// stdout and stderr interleaved as written, at most `HookLimits.outputCap` bytes.
    public let output: [UInt8]
    /// More output was written than the cap; the rest was read and discarded.
    public let truncated: Bool
    /// The time limit was reached and the hook's process group got SIGKILL.
    public let timedOut: Bool
    /// From fork to reaping.
    public let duration: Duration
    /// The hook's pid, which is also its process group id.
    public let processID: Int32
}
