import Foundation

/// One thing the coverage run does under strace. Adding a scenario is one line in `all`:
/// a `bulkhead run` (`.vm`) with what to do while it runs, or a helper driven directly with
/// bad requests (`.helper`). Arguments may name `{disk}` (a 1 MiB image the helper user may
/// write), `{tap}` (a tap made for the run), `{hook}` (a hook script), `{net}` (the guest's
/// `net-ip=… net-ping=…` steps for the tap's subnet).
struct CoverageScenario: Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        /// `bulkhead run --name NAME ARGUMENTS`, then `action` once every thread is confined.
        case vm([String], action: Action)
        /// A helper started as the parent starts one, given requests a hostile worker might send.
        case helper(String, [String], requests: HelperRequests)
        /// `bulkhead run` in a mount namespace without cgroup v2, so the parent seals as `parent-kill`.
        case vmWithoutCgroup([String], action: Action)
    }

    enum Action: Sendable {
        case none
        /// A signal to the parent (SIGTERM, SIGINT): it ends the VM.
        case signalParent(Int32)
        /// SIGKILL to a child by role (`block`, `worker`): the parent ends the rest.
        case kill(String)
        /// `bulkhead ctl NAME COMMAND` for each command, in order (the parent's control socket);
        /// a command starting with `console` is `bulkhead console … NAME`.
        case ctl([[String]])
        /// SIGSTOP to every process of the VM, then SIGCONT: each resumes what it slept in.
        case stopAndContinue
        /// SIGSTOP to the worker, SIGTERM to the parent: the polite stop goes unanswered and
        /// the parent ends its children by force.
        case freezeWorkerThenSignalParent
    }

    enum HelperRequests: Sendable { case block, net, exec }

    let name: String
    let kind: Kind
    /// It makes a forbidden call on purpose (the escape probe): its unallowed calls are expected.
    var forbidden = false
    /// Declared insecure (the escape probe, log mode): needs --allow-insecure where that exists.
    var insecure = false

    var description: String { name }

    static func vm(_ name: String, _ arguments: [String], then action: Action = .none) -> Self {
        Self(name: name, kind: .vm(arguments, action: action))
    }

    /// The scenarios of `make profile-coverage`; `make test` runs the same list (each once).
    static let all: [CoverageScenario] = [
        .vm("boot-1cpu", ["--cmdline", "banner poweroff"]),
        .vm("boot-2cpu", ["--cpus", "2", "--cmdline", "banner cpus sleep=20 poweroff"]),
        .vm("boot-16cpu", ["--cpus", "16", "--cmdline", "banner cpus poweroff"]),
        .vm("ctl", ["--cpus", "2", "--cmdline", "banner sleep=20000 poweroff"], then: .ctl([["info"], ["pause"], ["resume"], ["reset"], ["console", "--settle-ms", "200"], ["stop", "--timeout-ms", "1000"]])),
        .vm("stop-continue", ["--disk", "{disk}", "--cmdline", "banner sleep=1500 blk-sha256=0 poweroff"], then: .stopAndContinue),
        .vm("disk-rw", ["--disk", "{disk}", "--cmdline", "blk-sha256=0 blk-write=0 blk-hostile=0,outside poweroff"]),
        .vm("disk-ro", ["--disk", "{disk},readonly", "--cmdline", "blk-write=0 blk-read=0,1 poweroff"]),
        .vm("tap", ["--net", "tap={tap}", "--cpus", "2", "--hook", "up={hook}", "--hook", "down={hook}", "--cmdline", "{net} poweroff"]),
        .vm("hook", ["--hook", "prepare={hook}", "--hook", "started={hook}", "--hook", "stopped={hook}", "--cmdline", "banner poweroff"]),
        .vm("sigterm-parent", ["--disk", "{disk}", "--cmdline", "banner sleep=20000 poweroff"], then: .signalParent(SIGTERM)),
        .vm("sigint-parent", ["--cpus", "2", "--cmdline", "banner sleep=20000 poweroff"], then: .signalParent(SIGINT)),
        .vm("block-death", ["--disk", "{disk}", "--cmdline", "banner sleep=20000 poweroff"], then: .kill("block")),
        .vm("worker-death", ["--cmdline", "banner sleep=20000 poweroff"], then: .kill("worker")),
        .vm("triple-fault", ["--cmdline", "banner triple-fault"]),
        Self(name: "no-cgroup-frozen-worker", kind: .vmWithoutCgroup(["--cmdline", "banner sleep=20000 poweroff"], action: .freezeWorkerThenSignalParent)),
        Self(name: "no-cgroup-block-death", kind: .vmWithoutCgroup(["--disk", "{disk}", "--cmdline", "banner sleep=20000 poweroff"], action: .kill("block"))),
        Self(name: "escape-trap", kind: .vm(["--device", "escape-probe", "--seccomp", "trap", "--cmdline", "escape=socket,2,2,0"], action: .none), forbidden: true, insecure: true),
        Self(name: "escape-trap-io", kind: .vm(["--device", "escape-probe", "--seccomp", "trap", "--cmdline", "escape=socket,2,2,0@io"], action: .none), forbidden: true, insecure: true),
        Self(name: "block-bad-requests", kind: .helper("bulkhead-block", ["--file", "ro:{disk}"], requests: .block)),
        Self(name: "net-bad-requests", kind: .helper("bulkhead-net", ["--tap", "{tap}"], requests: .net)),
        Self(name: "exec-bad-requests", kind: .helper("bulkhead-exec", ["--hook", "up={hook}", "--hook-arg", "up=vm"], requests: .exec)),
    ]
}
