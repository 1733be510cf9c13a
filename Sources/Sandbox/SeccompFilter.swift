import CSeccomp
import CShim
import Glibc
import SystemPackage

/// A profile compiled by libseccomp into a BPF program for one mode: default action per
/// mode, foreign ABIs (i386, x32) answered like a forbidden call, binary-tree
/// optimisation, and no thread sync: a filter applies to the thread that loads it (and to
/// threads it starts afterwards).
public final class SeccompFilter {
    private let context: scmp_filter_ctx

    /// Trap mode keeps the SIGSYS reporter in place: sigaltstack is refused, and
    /// rt_sigaction only for other signals (glibc installs its SIGSETXID handler at the
    /// first pthread_create, after the filter is in).
    static func trapModeRules(_ name: String, _ rules: [SyscallRule]) -> [SyscallRule] {
        switch name {
        case "sigaltstack": return []
        case "rt_sigaction":
            let notSigsys = ArgumentCondition.arg(0, .notEqual(UInt64(SIGSYS)))
            return rules.map {
                // A rule that already names its signal (arg0 == 33) cannot be SIGSYS; libseccomp
                // refuses a second comparison on the same argument.
                if $0.conditions.contains(where: { $0.index == 0 && $0.comparison != .equal(UInt64(SIGSYS)) && $0.comparison.isEquality }) {
                    return $0
                }
                return SyscallRule(
                    syscall: name, conditions: $0.conditions + [notSigsys], answer: $0.answer, reason: $0.reason,
                    unexercised: $0.unexercised)
            }
        default: return rules
        }
    }

    public init(profile: Profile, mode: FilterMode) throws {
        precondition(mode != .none, "mode none installs no filter")
        let defaultAction: UInt32 =
            switch mode {
            case .kill, .none: SCMP_ACT_KILL_PROCESS
            case .trap: SCMP_ACT_TRAP
            case .log: SCMP_ACT_LOG
            }
        guard let context = seccomp_init(defaultAction) else {
            throw SandboxError.libseccomp(call: "seccomp_init", errno: .invalidArgument)
        }
        self.context = context
        // libseccomp's own default for a foreign ABI kills only the thread: one vCPU would
        // die silently and the VM hang. Kill (or in trap mode, report) the whole process.
        try set(SCMP_FLTATR_ACT_BADARCH, mode == .trap ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS)
        try set(SCMP_FLTATR_CTL_NNP, 0)  // set once by `Confinement`, not by every load
        try set(SCMP_FLTATR_CTL_TSYNC, 0)
        try set(SCMP_FLTATR_CTL_OPTIMIZE, 2)
        for (name, rules) in profile.allowList {
            for rule in mode == .trap ? Self.trapModeRules(name, rules) : rules { try add(rule) }
        }
    }

    deinit { seccomp_release(context) }

    /// Loads the filter for the calling thread (and threads it starts later) with
    /// seccomp(SECCOMP_SET_MODE_FILTER). Filters stack: this one can only narrow.
    public func load() throws {
        try check("seccomp_load", seccomp_load(context))
    }

    private func add(_ rule: SyscallRule) throws {
        guard let syscall = Syscall(named: rule.syscall) else {
            throw SandboxError.unknownSyscall(rule.syscall)
        }
        let action: UInt32 =
            switch rule.answer {
            case .allow: SCMP_ACT_ALLOW
            case .errno(let code): bh_scmp_act_errno(UInt16(code))
            }
        let comparisons = rule.conditions.map(\.seccompComparison)
        try check(
            "seccomp_rule_add_array(\(rule.syscall))",
            seccomp_rule_add_array(context, action, syscall.number, UInt32(comparisons.count), comparisons))
    }

    private func set(_ attribute: scmp_filter_attr, _ value: UInt32) throws {
        try check("seccomp_attr_set", seccomp_attr_set(context, attribute, value))
    }

    private func check(_ call: String, _ result: Int32) throws {
        guard result == 0 else { throw SandboxError.libseccomp(call: call, errno: Errno(rawValue: -result)) }
    }
}
