import CShim
import Glibc

/// DESIGN.md §7 for a child of `bulkhead run`: what it applies to itself, as root, after its
/// declarations and before no-new-privileges and its seccomp filter. Each wrapper names the
/// C call (Sources/CShim/depth.c); each failure is an error the child reports and dies of.
public enum ProcessDefense {
    /// The uid and gid the parent chose (`--run-as UID:GID`).
    public struct Identity: Equatable, Sendable {
        public let uid: UInt32
        public let gid: UInt32

        public init(uid: UInt32, gid: UInt32) {
            self.uid = uid
            self.gid = gid
        }

        /// `UID:GID`, both decimal and not 0 (root is what the child is leaving).
        public init?(parsing text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let uid = UInt32(parts[0]), let gid = UInt32(parts[1]), uid != 0, gid != 0,
                uid != UInt32.max, gid != UInt32.max
            else { return nil }
            self.init(uid: uid, gid: gid)
        }

        public var argument: String { "\(uid):\(gid)" }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Capability numbers (linux/capability.h) a child may keep.
    public static let capNetAdmin: UInt64 = 1 << 12

    /// setgroups(0), setresgid, setresuid and capset: `identity`, no supplementary groups,
    /// exactly `keep` as effective and permitted, the bounding set reduced to `keep`, the
    /// inheritable and ambient sets empty.
    public static func become(_ identity: Identity, keeping keep: UInt64) throws(Failure) {
        let result = bh_depth_become(identity.uid, identity.gid, keep)
        if result < 0 { throw Failure(description: "cannot become uid \(identity.uid) gid \(identity.gid): \(text(result))") }
    }

    /// capset and PR_CAPBSET_DROP without a uid change (a child left as root).
    public static func keepOnly(_ keep: UInt64) throws(Failure) {
        let result = bh_depth_keep_capabilities(keep)
        if result < 0 { throw Failure(description: "cannot drop capabilities: \(text(result))") }
    }

    public enum Limit: Sendable {
        case core, processes, openFiles, fileSize

        /// asm-generic/resource.h (Glibc does not import RLIMIT_NPROC as a constant).
        var resource: Int32 {
            switch self {
            case .fileSize: 1  // RLIMIT_FSIZE
            case .core: 4  // RLIMIT_CORE
            case .processes: 6  // RLIMIT_NPROC
            case .openFiles: 7  // RLIMIT_NOFILE
            }
        }
    }

    /// setrlimit with soft = hard = `value`, so the process cannot raise it again.
    public static func limit(_ limit: Limit, to value: UInt64) throws(Failure) {
        let result = bh_depth_limit(limit.resource, value)
        if result < 0 { throw Failure(description: "setrlimit(\(limit), \(value)): \(text(result))") }
    }

    /// unshare(mount, net, ipc, uts) and pivot_root into an empty read-only tmpfs mounted on
    /// `scratch` inside the new mount namespace (the host's `scratch` is untouched).
    public static func enterEmptyNamespaces(scratch: String = "/tmp") throws(Failure) {
        let result = bh_depth_enter_empty_namespaces(scratch)
        if result < 0 { throw Failure(description: "cannot enter private namespaces with an empty root: \(text(result))") }
    }

    /// A SIGTERM handler that exits with 143 (for PID 1 of a PID namespace), then SIGTERM
    /// unblocked: one the parent sent since the spawn ends the process now.
    public static func exitOnTerminate() throws(Failure) {
        let result = bh_depth_exit_on_sigterm()
        if result < 0 { throw Failure(description: "sigaction(SIGTERM): \(text(result))") }
    }

    static func text(_ negativeErrno: Int32) -> String { String(cString: strerror(-negativeErrno)) }
}

extension ProcessDefense {
    /// The environment variable through which `bulkhead run` (as root) names the uid and gid a
    /// child must take: `BULKHEAD_RUN_AS=UID:GID`. The parent builds every child's environment
    /// from scratch (ChildProcess.environment), so nothing else can set it.
    public static let runAsVariable = "BULKHEAD_RUN_AS"

    /// The identity the parent asked for, nil when none was; a malformed value is an error.
    public static func requestedIdentity() throws(Failure) -> Identity? {
        guard let raw = getenv(runAsVariable) else { return nil }
        let text = String(cString: raw)
        guard let identity = Identity(parsing: text) else {
            throw Failure(description: "\(runAsVariable)=\(text): expected UID:GID, neither 0")
        }
        return identity
    }
}

extension ProcessDefense {
    /// How large a file this process may write (RLIMIT_FSIZE), from what it writes to:
    /// 0 when it writes no regular file at all; `logCap` when one of `logFDs` (stderr, a
    /// --console FILE) is a regular file; at least the size of each regular file in `dataFDs`
    /// (a read-write disk: virtio-blk writes inside it, never past its end). A write past the
    /// limit fails with EFBIG and raises SIGXFSZ.
    public static func fileSizeLimit(logFDs: [Int32], dataFDs: [Int32] = [], logCap: UInt64 = 1 << 30) -> UInt64 {
        func regularSize(_ fd: Int32) -> UInt64? {
            var info = stat()
            guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return UInt64(max(0, info.st_size))
        }
        var limit: UInt64 = 0
        if logFDs.contains(where: { regularSize($0) != nil }) { limit = logCap }
        for fd in dataFDs { if let size = regularSize(fd) { limit = max(limit, size) } }
        return limit
    }
}
