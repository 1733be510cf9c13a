import Cgroup
import Glibc
import RunSpecs
import Vocabulary

/// `bulkhead run`'s cgroup (DESIGN.md §7): the limits checked before anything starts, then
/// the VM's own cgroup v2, `bulkhead/vm-NAME` under the parent's cgroup, made before any child
/// exists (VMCgroup). Without one — no v2 hierarchy, no registry entry to prune it by, or the
/// parent may not create it — the VM still runs, and the parent keeps CAP_KILL to end its
/// children; asked-for limits then refuse the start instead.
enum CgroupSetup {
    /// The worker's tasks (WorkerDefense: main, control, io, one per vCPU, KVM's own task).
    static func workerTasks(cpus: Int) -> UInt64 { UInt64(cpus + 4) }
    /// The worker's and the helpers' own memory beside guest memory, about: a limit below
    /// guest memory plus this would end the VM as it boots.
    static let overheadBytes: UInt64 = 32 << 20

    /// Parses and checks `--memory-limit` and `--pids-limit` against the plan and this host.
    static func limits(_ options: CgroupOptions, for plan: LaunchPlan) throws -> CgroupLimits {
        var limits = CgroupLimits()
        do {
            if let text = options.memoryLimit {
                let bytes = try CgroupLimits.memory(text)
                let floor = UInt64(plan.configuration.memoryMiB) << 20 + overheadBytes
                guard bytes >= floor else {
                    throw ConfigurationError(
                        "--memory-limit \(text)",
                        "below the guest memory (--memory \(plan.configuration.memoryMiB), in MiB) plus \(overheadBytes >> 20)M for bulkhead's own processes: at least \(floor >> 20)M")
                }
                limits.memoryBytes = bytes
            }
            if let text = options.pidsLimit {
                let count = try CgroupLimits.pids(text)
                let spawned = UInt64(plan.helpers.filter { $0.connectTo == nil }.count)
                let floor = workerTasks(cpus: plan.configuration.cpus) + spawned
                guard count >= floor else {
                    throw ConfigurationError(
                        "--pids-limit \(text)",
                        "the worker's \(workerTasks(cpus: plan.configuration.cpus)) tasks (\(plan.configuration.cpus) vCPU) and \(spawned) helper(s) need at least \(floor)")
                }
                limits.pids = count
            }
            let hierarchy = CgroupHierarchy.mounted()
            let parentPath = CgroupHierarchy.v2Path(ofProcess: "self")
            for (controller, _) in limits.writes {
                if let refusal = CgroupHierarchy.refusal(of: controller, hierarchy: hierarchy, parentPath: parentPath) { throw refusal }
            }
        } catch let error as ConfigurationError {
            throw ConfigurationError(error.item, error.reason)
        }
        return limits
    }

    /// The VM's cgroup, or nil and why there is none. Asked-for limits that cannot be applied
    /// are a ConfigurationError (exit 65, nothing started).
    /// `recording` gets the cgroup's directory before it is made (the registry keeps it).
    static func create(vmName: String?, limits: CgroupLimits, recording: (String) -> Void) throws -> (VMCgroup?, absent: String?) {
        func none(_ why: String) throws -> (VMCgroup?, absent: String?) {
            if let controller = limits.writes.first?.controller { throw ConfigurationError(controller.option, why) }
            return (nil, why)
        }
        guard let hierarchy = CgroupHierarchy.mounted() else { return try none("no cgroup v2 hierarchy is mounted") }
        guard let parentPath = CgroupHierarchy.v2Path(ofProcess: "self") else {
            return try none("/proc/self/cgroup names no cgroup v2 (no 0:: line)")
        }
        guard let vmName else {
            return try none("the VM is not registered (unprivileged without --name), so a cgroup it left could not be found again")
        }
        let ownDirectory = hierarchy.directory(of: parentPath)
        recording(VMCgroup.directory(of: vmName, under: ownDirectory))
        do {
            return (try VMCgroup(under: ownDirectory, vmName: vmName, limits: limits), nil)
        } catch {
            if limits.isEmpty { return (nil, "\(error)") }
            throw ConfigurationError(error.item, error.reason)
        }
    }
}
