// bulkhead-exec --socket-fd N [--seccomp MODE] [--hook NAME=/abs/program]...
//               [--hook-arg NAME=ARG]... [--hook-timeout-ms N]
// Runs only the hooks declared on its command line (HostAccess.DeclaredHooks: absolute
// program, fixed arguments in order, clean environment, time limit, capped output) for
// `exec.run-hook`. Hooks inherit this helper's filter. See Helpers/README.md.
import BulkheadProtocol
import HelperSupport
import HostAccess

let helper = Helper(
    program: "bulkhead-exec", role: .exec, kind: .exec, options: ["--hook", "--hook-arg", "--hook-timeout-ms"],
    singleOptions: ["--hook-timeout-ms"])

/// The longest time limit the command line may set: one hour.
let maximumTimeoutMilliseconds = 3_600_000

helper.run { arguments in
    // Before any hook runs: orphaned descendants of a hook come back to us to be reaped.
    try HookRunner.adoptOrphanedDescendants()

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
        guard let milliseconds = Int(HelperArguments.text(value)), (1...maximumTimeoutMilliseconds).contains(milliseconds) else {
            throw HelperArguments.Problem(
                "--hook-timeout-ms \(HelperArguments.quoted(value)): expected milliseconds in 1…\(maximumTimeoutMilliseconds)")
        }
        limits.timeLimit = .milliseconds(milliseconds)
    }
    let hooks = try DeclaredHooks(
        programs.map { HookDeclaration(name: $0.name, program: $0.program, arguments: fixed[$0.name] ?? []) },
        limits: limits)

    return { request in
        let run = try request.decode(ExecRunHookRequest.self)
        let result: HookResult
        do throws(HookRefusal) { result = try hooks.run(name: run.hook, extraArguments: run.arguments) } catch {
            throw Refusal(error.description)
        }
        let (status, signal): (Int32, Int32)
        switch result.termination {
        case .exited(let code): (status, signal) = (code, 0)
        case .signaled(let number): (status, signal) = (-1, number)
        }
        return Reply(ExecRunHookReply.capping(
            exitStatus: status, signal: signal, output: result.output, truncated: result.truncated,
            timedOut: result.timedOut))
    }
}
