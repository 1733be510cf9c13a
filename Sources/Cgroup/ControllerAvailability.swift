import Vocabulary


extension CgroupHierarchy {
    /// Why `--memory-limit`/`--pids-limit` cannot be applied to a VM cgroup made under the cgroup
    /// `parentPath` of `hierarchy`, or nil when its controller is offered there. Checked before
    /// anything starts; `hierarchy` nil means no cgroup v2 is mounted.
    public static func refusal(
        of controller: CgroupController, hierarchy: CgroupHierarchy?, parentPath: String?,
        mountInfo: String? = nil
    ) -> ConfigurationError? {
        let item = controller.option
        guard let hierarchy else {
            return ConfigurationError(
                item, "no cgroup v2 hierarchy is mounted (none in /proc/self/mountinfo); bulkhead applies limits only through cgroup v2")
        }
        guard let parentPath else {
            return ConfigurationError(item, "/proc/self/cgroup names no cgroup v2 (no 0:: line) for bulkhead to create the VM's cgroup under")
        }
        let directory = hierarchy.directory(of: parentPath)
        let offered = controllers(inDirectory: directory)
        guard !offered.contains(controller.rawValue) else { return nil }
        let place = parentPath == "/" ? "" : ", cgroup \(parentPath)"
        var reason = "the \(controller.rawValue) controller is not available in the cgroup v2 hierarchy at \(hierarchy.mountPoint)\(place)"
        reason += " (it has: \(offered.isEmpty ? "none" : offered.joined(separator: " ")))"
        let v1 = mountInfo.map { boundToV1(controller.rawValue, mountInfo: $0) } ?? boundToV1(controller.rawValue)
        if v1 {
            reason += "; this host binds it to cgroup v1, which bulkhead does not manage"
        } else if parentPath != "/" {
            reason += "; the cgroup above \(parentPath) does not delegate it"
        } else {
            reason += "; this kernel does not offer it"
        }
        return ConfigurationError(item, reason)
    }
}
