/// A traced call with the filters it had to pass: `layers` are the filters the thread had
/// loaded when it made the call, outermost first (worker-base, then the thread's role).
public struct AttributedCall: Sendable {
    public let layers: [Role]
    public let call: TracedCall
    /// The thread's name when it made the call (`vcpu0`, `bulkhead-block`).
    public let thread: String
}

/// Replays an `strace -f -ff` trace (one file per thread, `PREFIX.TID`) the way the kernel
/// stacks filters: a child starts with its parent's filters and name, execve keeps the
/// filters, and each seccomp(SECCOMP_SET_MODE_FILTER) that returns 0 adds one. Only calls
/// made under at least one filter are returned; the unconfined start-up counts for nothing.
public enum TraceReplay {
    /// `threads`: tid → that thread's trace text. `parent` is the sealed parent's role
    /// (`parent`, or `parent-kill` for a VM without a cgroup): the trace cannot tell them apart.
    public static func attribute(threads: [Int: String], parent: Role = .parent) -> [AttributedCall] {
        let parsed = threads.mapValues { $0.split(separator: "\n").compactMap(TracedCall.init(straceLine:)) }
        let children = Set(parsed.values.joined().compactMap(\.spawnedChild))
        var result: [AttributedCall] = []
        func replay(_ tid: Int, _ start: ThreadState) {
            var state = start
            for call in parsed[tid] ?? [] {
                if !state.layers.isEmpty {
                    result.append(AttributedCall(layers: state.layers, call: call, thread: state.name))
                }
                guard call.result.map({ $0 >= 0 }) == true else { continue }
                switch call.name {
                case "execve", "execveat":
                    state.executable = call.text.map { String($0.split(separator: "/").last ?? "") }
                    state.name = String((state.executable ?? "").prefix(15))
                    state.isMainThread = true
                    state.isForkedChild = false
                case "prctl" where call.arguments[0] == KernelConstant.prSetName:
                    state.name = call.text ?? state.name
                case "seccomp" where call.arguments[0] == KernelConstant.seccompSetModeFilter:
                    if let role = state.filterRole(parent: parent) { state.layers.append(role) }
                default:
                    if let child = call.spawnedChild, parsed[child] != nil {
                        var inherited = state
                        inherited.isMainThread = !call.createsThread
                        if !call.createsThread { inherited.isForkedChild = true }
                        replay(child, inherited)
                    }
                }
            }
        }
        for root in parsed.keys.sorted() where !children.contains(root) {
            replay(root, ThreadState())
        }
        return result
    }
}

private struct ThreadState {
    var executable: String?
    var name = ""
    var layers: [Role] = []
    var isMainThread = true
    /// A process forked from the executable it runs, not exec'd (the exec helper's launcher).
    var isForkedChild = false

    /// Which role a filter this thread loads belongs to: the process's role for its first
    /// filter; in the worker a stacked one is the thread's role by name, and on the main
    /// thread (which keeps its name) control's (Sources/Worker/main.swift). The exec helper's
    /// launcher is the process it forks before it confines itself (Helpers/exec/HookLauncher.swift).
    func filterRole(parent: Role) -> Role? {
        let process: Role? =
            switch executable {
            case "bulkhead": parent
            case "bulkhead-worker": .workerBase
            case "bulkhead-block": .block
            case "bulkhead-net": .net
            case "bulkhead-exec": isForkedChild ? .execHook : .exec
            default: nil
            }
        guard !layers.isEmpty, process == .workerBase else { return process }
        return isMainThread ? .control : Role(threadName: name)
    }
}

extension TracedCall {
    /// The host tid of the thread or process a clone, clone3, fork or vfork created.
    var spawnedChild: Int? {
        guard ["clone", "clone3", "fork", "vfork"].contains(name), let result, result > 0 else { return nil }
        return childID ?? Int(result)
    }

    /// clone with CLONE_THREAD (0x10000): a thread of the same process. clone3's flags are
    /// in memory; only the parent uses it, to start processes.
    var createsThread: Bool { name == "clone" && arguments[0] & 0x10000 != 0 }
}
