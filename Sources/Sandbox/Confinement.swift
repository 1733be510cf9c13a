import CShim
import SystemPackage

/// Installing a role's filter the way every Bulkhead process and thread does it.
public enum Confinement {
    /// Confines the whole process before it starts any thread: no-new-privileges, the
    /// SIGSYS reporter in trap mode, then the role's filter.
    public static func confineProcess(
        as role: Role, mode: FilterMode, reportTo reportFD: FileDescriptor = .standardError
    ) throws {
        try confineProcess(with: role.profile, mode: mode, reportTo: reportFD)
    }

    /// The same with a profile of the caller's (a test instrument's role plus its own needs).
    public static func confineProcess(
        with profile: Profile, mode: FilterMode, reportTo reportFD: FileDescriptor = .standardError
    ) throws {
        try setNoNewPrivileges()
        guard mode != .none else { return }
        if mode == .trap {
            try check("sigaction(SIGSYS)", bh_install_sigsys_reporter(reportFD.rawValue))
        }
        try SeccompFilter(profile: profile, mode: mode).load()
    }

    /// Names the calling thread for its role and stacks the role's filter on the process
    /// filter, for this thread only. Call it before the thread runs any guest-driven code.
    public static func confineThread(named name: String, as role: Role, mode: FilterMode) throws {
        try nameThread(name)
        guard mode != .none else { return }
        try SeccompFilter(profile: role.profile, mode: mode).load()
    }

    /// prctl(PR_SET_NAME): the name the kernel's audit record and the trap report show.
    public static func nameThread(_ name: String) throws {
        try check("prctl(PR_SET_NAME)", bh_set_thread_name(name))
    }

    /// prctl(PR_SET_NO_NEW_PRIVS, 1): no exec can ever grant privileges again.
    public static func setNoNewPrivileges() throws {
        try check("prctl(PR_SET_NO_NEW_PRIVS)", bh_set_no_new_privs())
    }

    private static func check(_ call: String, _ result: Int32) throws {
        guard result >= 0 else { throw SandboxError.system(call: call, errno: Errno(rawValue: -result)) }
    }
}
