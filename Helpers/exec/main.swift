// bulkhead-exec --socket-fd N [--seccomp MODE] [--hook NAME=/abs/program]...
//               [--hook-arg NAME=ARG]... [--hook-timeout-ms N]
// Runs only the hooks declared on its command line (HostAccess.DeclaredHooks: absolute
// program, fixed arguments in order, the tap for `up`/`down`, clean environment, time
// limit, capped output) for `exec.run-hook`. Two processes: this server (profile `exec`)
// checks each request and hands it to its launcher (profile `exec-hook`, HookLauncher),
// which the hooks inherit. See Helpers/README.md.
import BulkheadProtocol
import HelperSupport
import HostAccess

let helper = Helper(
    program: "bulkhead-exec", role: .exec, kind: .exec, options: ["--hook", "--hook-arg", "--hook-timeout-ms"],
    singleOptions: ["--hook-timeout-ms"])
let launcher = HookLauncher()

helper.run(beforeConfinement: { mode in launcher.start(mode: mode) }) { arguments in
    let (declarations, limits) = try HookOptions.declarations(arguments)
    let hooks = try DeclaredHooks(declarations, limits: limits, vmName: HookLauncher.vmName())
    launcher.hooks = hooks

    return { request in
        let run = try request.decode(ExecRunHookRequest.self)
        do throws(HookRefusal) { try hooks.validate(name: run.hook, extraArguments: run.arguments) } catch {
            throw Refusal(error.description)
        }
        do { return Reply(try launcher.run(run)) } catch let gone as HookLauncher.LauncherGone {
            HelperLog.fail(helper.program, .socketFailed, "\(gone)")
        }
    }
}
