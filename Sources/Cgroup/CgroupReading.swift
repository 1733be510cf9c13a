import ProcessInspection
import Vocabulary

extension CgroupHierarchy {
    /// What `bulkhead status` shows for one limit of the cgroup at `directory`, read from
    /// cgroupfs: the file's content (`max` or a number), or why there is none.
    public func limit(_ controller: CgroupController, ofCgroup directory: String) -> Result<String, ConfigurationError> {
        if let text = ProcFS.read("\(directory)/\(controller.limitFile)") {
            return .success(text.split(separator: "\n").first.map(String.init) ?? "")
        }
        let offered = Self.controllers(inDirectory: mountPoint)
        let reason = offered.contains(controller.rawValue)
            ? "the \(controller.rawValue) controller is not enabled for this cgroup"
            : "the cgroup v2 hierarchy at \(mountPoint) has no \(controller.rawValue) controller (it has: \(offered.isEmpty ? "none" : offered.joined(separator: " ")))"
        return .failure(ConfigurationError(controller.limitFile, "not available: \(reason)"))
    }
}
