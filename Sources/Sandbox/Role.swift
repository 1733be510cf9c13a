/// Every process and thread role Bulkhead confines, with the profile it loads.
public enum Role: String, CaseIterable, Sendable {
    case workerBase = "worker-base"
    case control
    case vcpu
    case io
    case block
    case net
    case exec
    /// The exec helper's hook launcher and the hooks it starts (`exec` is its server).
    case execHook = "exec-hook"
    /// The exec helper's systemd unit: one SystemCallFilter= bounds server, launcher and hooks.
    case execService = "exec-service"
    case parent
    /// The sealed parent of a VM without a cgroup.kill (no cgroup v2): `parent` plus kill.
    case parentKill = "parent-kill"

    public var profile: Profile {
        switch self {
        case .workerBase: .workerBase
        case .control: .controlThread
        case .vcpu: .vcpuThread
        case .io: .ioThread
        case .block: .blockHelper
        case .net: .netHelper
        case .exec: .execHelper
        case .execHook: .execHook
        case .execService: .execService
        case .parent: .sealedParent
        case .parentKill: .sealedParentSignalling
        }
    }

    /// The process-wide filter a thread role is stacked on, loaded before threads start.
    public var stackedOn: Role? {
        switch self {
        case .control, .vcpu, .io: .workerBase
        default: nil
        }
    }

    /// Whether the role's filter applies to one thread (stacked) or the whole process.
    public var isThreadRole: Bool { stackedOn != nil }

    /// The most syscalls the role may effectively allow (for a thread: base ∩ role).
    public var budget: Int? {
        switch self {
        case .vcpu: 15
        case .io, .control: 25
        case .block, .net: 30
        case .parent, .parentKill: 20
        case .exec: 40
        case .workerBase, .execHook, .execService: nil
        }
    }

    /// The name a thread of this role carries (PR_SET_NAME), e.g. `vcpu0`.
    public func threadName(index: Int = 0) -> String {
        self == .vcpu ? "vcpu\(index)" : rawValue
    }

    /// Which role a thread named `name` has (`vcpu3` → `.vcpu`).
    public init?(threadName name: String) {
        if name.hasPrefix("vcpu"), name.dropFirst(4).allSatisfy(\.isNumber), name.count > 4 {
            self = .vcpu
        } else {
            self.init(rawValue: name)
        }
    }

    /// What a thread of this role can really do: its own rules, restricted to the calls
    /// its base also allows. A call is allowed when every stacked filter allows it.
    public var effectiveAllowList: [String: [SyscallRule]] {
        let own = profile.allowList
        guard let base = stackedOn?.profile.allowList else { return own }
        return own.filter { base[$0.key] != nil }
    }

    /// The kernel's answer for a call from this role: every stacked filter must allow it,
    /// and the most restrictive answer wins (an errno beats allow).
    public func answer(for syscall: String, arguments: [UInt64]) -> FilterAnswer? {
        let layers = [stackedOn?.profile, profile].compactMap { $0 }
        var combined = FilterAnswer.allow
        for layer in layers {
            guard let answer = layer.answer(for: syscall, arguments: arguments) else { return nil }
            if case .errno = answer { combined = answer }
        }
        return combined
    }
}
