import Glibc
import RunSpecs
import Vocabulary

/// `bulkhead run`'s part of DESIGN.md §7, before anything starts: register the VM
/// (VMRegistry) and, as root, choose who each child becomes. The children do the work
/// themselves before they confine (HelperDefense, WorkerDefense); the parent only names the
/// identities, through BULKHEAD_RUN_AS in each child's environment.
/// - helpers: the `--user` account (default `bulkhead`, created by `make deps`), its gid;
/// - worker: a uid of its own, the lowest of `--uid-range` that no running VM holds, as uid
///   and gid, so two VMs' workers can neither signal nor ptrace each other.
/// Its children then no longer share its uid: the sealed parent ends them through the VM
/// cgroup's cgroup.kill (CgroupSetup) and keeps no capability; only a VM without a cgroup
/// makes it keep CAP_KILL (ParentSeal).
struct RunDefense {
    let registration: VMRegistration?
    /// BULKHEAD_RUN_AS per child name (`worker`, `block`, `net`, `exec`).
    let identities: [String: String]

    var changesIdentities: Bool { !identities.isEmpty }

    init(_ options: DefenseOptions) throws {
        guard geteuid() == 0 else {
            // Unprivileged: nothing to drop; register only when asked to (the runtime
            // directory must then be writable).
            registration = try options.name.map { try VMRegistration(name: $0, uids: nil) }
            identities = [:]
            return
        }
        let uids = try UIDRange.parse(options.uidRange)
        let account = try HelperAccount(named: options.user)
        let (helperUID, helperGID) = (account.uid, account.gid)
        guard !uids.contains(helperUID) else {
            throw ConfigurationError("--uid-range \(options.uidRange)", "contains the uid of --user \(options.user)")
        }
        let registration = try VMRegistration(name: options.name ?? "vm-\(getpid())", uids: uids)
        guard let workerUID = registration.uid else { throw ConfigurationError("--uid-range", "no uid chosen") }
        self.registration = registration
        let helper = "\(helperUID):\(helperGID)"
        identities = ["worker": "\(workerUID):\(workerUID)", "block": helper, "net": helper, "exec": helper]
    }
}
