import BulkheadProtocol
import HostAccess
import Vocabulary

/// bulkhead-exec's `--hook NAME=/abs/program`, `--hook-arg NAME=ARG` and
/// `--hook-timeout-ms N` values as declarations and limits; whether a program is a safe
/// executable file is `DeclaredHooks`' check.
public enum HookOptions {
    /// The longest time limit the command line may set: one hour.
    public static let maximumTimeoutMilliseconds = 3_600_000

    public static func declarations(_ arguments: HelperArguments) throws(HelperArguments.Problem)
        -> (hooks: [HookDeclaration], limits: HookLimits)
    {
        var programs: [(name: String, program: String)] = []
        for value in arguments["--hook"] {
            guard let (name, program) = HelperArguments.split(value, at: "=") else {
                throw HelperArguments.Problem("--hook \(HelperArguments.quoted(value)): expected NAME=/absolute/program")
            }
            programs.append((HelperArguments.text(name), HelperArguments.text(program)))
        }
        var fixed: [String: [String]] = [:]
        for value in arguments["--hook-arg"] {
            guard let (name, argument) = HelperArguments.split(value, at: "="),
                programs.contains(where: { $0.name == HelperArguments.text(name) })
            else {
                throw HelperArguments.Problem(
                    "--hook-arg \(HelperArguments.quoted(value)): expected NAME=ARG for a hook declared with --hook")
            }
            fixed[HelperArguments.text(name), default: []].append(HelperArguments.text(argument))
        }
        var limits = HookLimits(outputCap: ProtocolLimits.maxFieldLength)
        if let value = arguments["--hook-timeout-ms"].first {
            guard let milliseconds = Int(HelperArguments.text(value)), (1...maximumTimeoutMilliseconds).contains(milliseconds)
            else {
                throw HelperArguments.Problem(
                    "--hook-timeout-ms \(HelperArguments.quoted(value)): expected milliseconds in 1…\(maximumTimeoutMilliseconds)")
            }
            limits.timeLimit = .milliseconds(milliseconds)
        }
        // A tap phase (`up`, `down`) is handed the tap's name after its fixed arguments.
        let hooks = programs.map {
            HookDeclaration(
                name: $0.name, program: $0.program, arguments: fixed[$0.name] ?? [],
                extraArgumentLimit: HookPhase.extraArgumentLimit(forHookNamed: $0.name))
        }
        return (hooks, limits)
    }
}
