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

helper.run { arguments in
    // Before any hook runs: orphaned descendants of a hook come back to us to be reaped.
    try HookRunner.adoptOrphanedDescendants()

    let (declarations, limits) = try HookOptions.declarations(arguments)
    let hooks = try DeclaredHooks(declarations, limits: limits)

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
