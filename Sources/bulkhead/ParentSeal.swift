import CShim
import Glibc
import Sandbox

/// DESIGN.md §2 step 5: once the worker runs, the parent keeps only what supervision needs.
/// Every fd it no longer needs was closed by `LaunchedVM.start` (and inherited ones at
/// start-up); here it drops every capability, sets no-new-privileges and loads the
/// `parent` profile (Sources/Sandbox/Profiles/SealedParent.swift).
enum ParentSeal {
    /// `keepKill`: the children run under other uids (RunDefense) and the VM has no cgroup
    /// with cgroup.kill (CgroupSetup): CAP_KILL is then what lets the parent still end them,
    /// and the one capability kept. With the cgroup it keeps nothing.
    static func seal(mode: FilterMode, keepKill: Bool = false) throws {
        let dropped = keepKill ? bh_depth_keep_capabilities(1 << 5) : bh_drop_all_capabilities()
        guard dropped == 0 else { throw LaunchError.system("dropping capabilities: \(String(cString: strerror(-dropped)))") }
        do {
            try Confinement.confineProcess(as: .parent, mode: mode)
        } catch {
            throw LaunchError.system("loading the parent profile: \(error)")
        }
    }
}
