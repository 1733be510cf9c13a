import HelperSupport
import HostAccess

/// A helper's command line (Helpers/Support: `HelperArguments`, then the helper's own
/// option values: `FileOptions`, `HookOptions`, tap names), as each helper's `main` parses
/// it. Input: byte 0 picks the helper (block, net, exec), the rest is argv split at NUL
/// bytes (argv cannot hold a NUL). Verdicts: the socket fd is above stdio, every value came
/// from argv, and declarations keep their bounds.
public enum HelperArgumentsEntry {
    public static func run(_ input: [UInt8]) -> FuzzOutcome {
        guard let first = input.first else { return .refused("empty input") }
        let argv = input.dropFirst().split(separator: 0, omittingEmptySubsequences: false).map(Array.init)
        return declare(argv, helper: Int(first) % 3)
    }

    /// The options of bulkhead-block, bulkhead-net and bulkhead-exec (their `main.swift`).
    static let helperOptions: [(options: Set<String>, single: Set<String>)] = [
        (["--file"], []),
        (["--tap"], []),
        (["--hook", "--hook-arg", "--hook-timeout-ms"], ["--hook-timeout-ms"]),
    ]

    /// Parses `argv` as helper `helper` would, up to (not including) the checks on disk.
    static func declare(_ argv: [[UInt8]], helper: Int) -> FuzzOutcome {
        let (options, single) = helperOptions[helper]
        do {
            let arguments = try HelperArguments(argv, options: options, single: single)
            check(HelperArguments.socketFDRange.contains(arguments.socketFD), "socket fd \(arguments.socketFD)")
            for values in arguments.values.values {
                for value in values { check(argv.contains(value), "a value that was not on the command line") }
            }
            switch helper {
            case 0:
                for file in try FileOptions.declarations(arguments) {
                    check(argv.contains { $0.count == file.path.count + 3 && $0.suffix(file.path.count).elementsEqual(file.path) }, "file path")
                }
            case 1:
                for tap in arguments["--tap"] { _ = try? TapName(validating: tap) }
            default:
                let (hooks, limits) = try HookOptions.declarations(arguments)
                check(limits.timeLimit > .zero && limits.timeLimit <= .milliseconds(HookOptions.maximumTimeoutMilliseconds), "time limit")
                check(hooks.count == arguments["--hook"].count, "one declaration per --hook")
            }
        } catch {
            return .refused(String(describing: error))
        }
        return .accepted
    }
}
