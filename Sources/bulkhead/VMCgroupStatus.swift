import Cgroup
import JSONText
import ProcessInspection
import RunSpecs
import Vocabulary

/// `bulkhead status`'s view of one VM's cgroup, read from cgroupfs and /proc: the directory
/// the registry names, whether it exists, its memory.max and pids.max files (or why there are
/// none), and each process's own v2 cgroup from /proc/PID/cgroup.
struct VMCgroupStatus {
    let record: CgroupRecord?
    let hierarchy = CgroupHierarchy.mounted()

    init(_ record: CgroupRecord?) { self.record = record }

    /// The VM cgroup's path inside the hierarchy (`/bulkhead/vm-NAME`), as /proc/PID/cgroup writes it.
    var path: String? {
        guard case .directory(let directory) = record, let hierarchy, directory.hasPrefix(hierarchy.mountPoint + "/") else {
            return nil
        }
        return String(directory.dropFirst(hierarchy.mountPoint.count))
    }

    var exists: Bool {
        guard case .directory(let directory) = record else { return false }
        return ProcFS.read(directory + "/cgroup.procs") != nil
    }

    func limits() -> [(file: String, result: Result<String, ConfigurationError>)] {
        guard case .directory(let directory) = record, let hierarchy else { return [] }
        return CgroupController.allCases.map { ($0.limitFile, hierarchy.limit($0, ofCgroup: directory)) }
    }

    var text: String {
        switch record {
        case nil: return "not recorded"
        case .absent(let why): return "none (\(why)); the parent ends its children with kill(2) (as root it keeps CAP_KILL for that)"
        case .directory(let directory):
            guard exists else { return "\(directory) (gone)" }
            return directory + ": " + limits().map { file, result in
                switch result {
                case .success(let value): "\(file) \(value)"
                case .failure(let error): "\(error)"
                }
            }.joined(separator: "; ")
        }
    }

    static func ownCgroup(of pid: Int32) -> String? { CgroupHierarchy.v2Path(ofProcess: "\(pid)") }

    /// `PATH (in the VM's cgroup)` or `PATH (outside it)`.
    func membership(of pid: Int32) -> String {
        guard let own = Self.ownCgroup(of: pid) else { return "?" }
        guard let path else { return own }
        return own == path ? "\(own) (in the VM's cgroup)" : "\(own) (outside the VM's cgroup)"
    }

    var json: JSONValue {
        switch record {
        case nil: return .null
        case .absent(let why): return .object([("directory", .null), ("none", .string(why))])
        case .directory(let directory):
            return .object([
                ("directory", .string(directory)), ("path", path.map { .string($0) } ?? .null), ("exists", .bool(exists)),
                (
                    "limits",
                    .object(limits().map { file, result in
                        switch result {
                        case .success(let value): (file, .object([("value", .string(value))]))
                        case .failure(let error): (file, .object([("notAvailable", .string(error.reason))]))
                        }
                    })
                ),
            ])
        }
    }
}
