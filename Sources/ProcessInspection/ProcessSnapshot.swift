/// What one process really holds, read from /proc at one moment: its threads' statuses, its
/// namespaces next to the host's, its resource limits.
public struct ProcessSnapshot: Sendable {
    public struct Thread: Sendable {
        public let tid: Int32
        public let status: TaskStatus
    }

    public struct Namespace: Sendable {
        public let kind: String
        public let id: String
        /// True when PID 1 (the host) is in the same namespace.
        public let sharedWithHost: Bool
    }

    public let pid: Int32
    public let threads: [Thread]
    public let namespaces: [Namespace]
    public let limits: [ResourceLimit]

    /// Reads /proc/PID; nil when the process is gone.
    public init?(pid: Int32, host: [(kind: String, id: String)] = ProcFS.namespaces(of: 1)) {
        guard ProcFS.isAlive(pid) else { return nil }
        self.pid = pid
        threads = ProcFS.numericEntries("/proc/\(pid)/task").compactMap { tid in
            ProcFS.read("/proc/\(pid)/task/\(tid)/status").map { Thread(tid: tid, status: TaskStatus(parsing: $0)) }
        }
        namespaces = ProcFS.namespaces(of: pid).map { own in
            Namespace(kind: own.kind, id: own.id, sharedWithHost: host.contains { $0.kind == own.kind && $0.id == own.id })
        }
        limits = ProcFS.read("/proc/\(pid)/limits").map(ResourceLimit.parse) ?? []
    }

    /// The limit named `name` (`Max open files`…).
    public func limit(_ name: String) -> ResourceLimit? { limits.first { $0.name == name } }
}
