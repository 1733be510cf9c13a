import Glibc
import ProcessInspection

/// Where this host's cgroup v2 (unified) hierarchy is, and what it offers (DESIGN.md §7).
/// A pure-v2 host mounts cgroup2 at /sys/fs/cgroup; a v1/v2 hybrid (this build machine) at
/// /sys/fs/cgroup/unified, with most controllers bound to v1 hierarchies beside it. Read
/// from /proc/self/mountinfo, /proc/self/cgroup and cgroupfs; nothing is assumed.
public struct CgroupHierarchy: Sendable, Equatable {
    /// Where cgroup2 is mounted, e.g. `/sys/fs/cgroup/unified`.
    public let mountPoint: String

    public init(mountPoint: String) { self.mountPoint = mountPoint }

    /// The v2 hierarchy of this host, nil when none is mounted.
    public static func mounted() -> CgroupHierarchy? {
        ProcFS.read("/proc/self/mountinfo").flatMap(find(inMountInfo:))
    }

    /// The cgroup2 mount in a mountinfo text: /sys/fs/cgroup, else /sys/fs/cgroup/unified,
    /// else the first one. Only mounts of the hierarchy's root count (a bind mount of a
    /// subtree would shift every path).
    public static func find(inMountInfo text: String) -> CgroupHierarchy? {
        var found: [String] = []
        for line in text.split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
            let fields = line.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, dash + 1 < fields.count else { continue }
            guard fields[dash + 1] == "cgroup2", fields[3] == "/" else { continue }
            found.append(unescape(fields[4]))
        }
        let chosen = found.first { $0 == "/sys/fs/cgroup" } ?? found.first { $0 == "/sys/fs/cgroup/unified" } ?? found.first
        return chosen.map(CgroupHierarchy.init(mountPoint:))
    }

    /// mountinfo writes space, tab, newline and backslash as \ooo.
    static func unescape(_ field: String) -> String {
        var bytes: [UInt8] = []
        var rest = Array(field.utf8)[...]
        while let byte = rest.first {
            if byte == 0x5C, rest.count >= 4, let value = UInt8(String(decoding: rest.dropFirst().prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                rest = rest.dropFirst(4)
            } else {
                bytes.append(byte)
                rest = rest.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The v2 cgroup in a /proc/PID/cgroup text: the path of its `0::PATH` line.
    public static func v2Path(inProcCgroup text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            let path = String(line.dropFirst(3))
            return path.hasPrefix("/") ? path : nil
        }
        return nil
    }

    /// The v2 cgroup of `pid` (`self` for the caller), relative to the hierarchy's root.
    public static func v2Path(ofProcess pid: String) -> String? {
        ProcFS.read("/proc/\(pid)/cgroup").flatMap(v2Path(inProcCgroup:))
    }

    /// The absolute directory of the cgroup at `path` (relative to the root, e.g. `/`).
    public func directory(of path: String) -> String {
        path == "/" ? mountPoint : mountPoint + path
    }

    /// The controllers listed in a cgroup's `cgroup.controllers` (those its children may use).
    public static func controllers(inDirectory directory: String) -> [String] {
        words(ProcFS.read("\(directory)/cgroup.controllers"))
    }

    /// The controllers enabled for a cgroup's children (`cgroup.subtree_control`).
    public static func enabledControllers(inDirectory directory: String) -> [String] {
        words(ProcFS.read("\(directory)/cgroup.subtree_control"))
    }

    /// True when a cgroup v1 hierarchy has `controller` bound (a `cgroup` mount with it as an
    /// option), which is why a hybrid host's v2 hierarchy does not offer it.
    public static func boundToV1(_ controller: String, mountInfo: String? = ProcFS.read("/proc/self/mountinfo")) -> Bool {
        for line in (mountInfo ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash + 3 < fields.count, fields[dash + 1] == "cgroup" else { continue }
            if fields[dash + 3].split(separator: ",").contains(Substring(controller)) { return true }
        }
        return false
    }

    static func words(_ text: String?) -> [String] {
        (text ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }
}
