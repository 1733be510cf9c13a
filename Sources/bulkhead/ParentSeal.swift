import CParent
import CShim
import Glibc
import Sandbox

/// DESIGN.md §2 step 5: once the worker runs, the parent keeps only what supervision needs.
/// Every fd it no longer needs was closed by `LaunchedVM.start` (and inherited ones at
/// start-up); here it drops every capability, sets no-new-privileges and loads its profile
/// (Sources/Sandbox/Profiles/SealedParent.swift).
enum ParentSeal {
    /// How the sealed parent will end its children.
    enum Ending {
        /// Through the VM cgroup's cgroup.kill: no capability, no kill(2) (profile `parent`).
        case cgroupKill
        /// With kill(2) (profile `parent-kill`): no VM cgroup with cgroup.kill. `keepingCapKill`
        /// when the children run under other uids (RunDefense): CAP_KILL is then the one
        /// capability kept.
        case signals(keepingCapKill: Bool)
    }

    static func seal(mode: FilterMode, ending: Ending) throws {
        let dropped: Int32
        let role: Role
        switch ending {
        case .cgroupKill:
            (dropped, role) = (bh_drop_all_capabilities(), .parent)
        case .signals(let keepingCapKill):
            (dropped, role) = (keepingCapKill ? bh_depth_keep_capabilities(1 << 5) : bh_drop_all_capabilities(), .parentKill)
        }
        guard dropped == 0 else { throw LaunchError.system("dropping capabilities: \(String(cString: strerror(-dropped)))") }
        do {
            try Confinement.confineProcess(as: role, mode: mode)
        } catch {
            throw LaunchError.system("loading the \(role.rawValue) profile: \(error)")
        }
    }
}
