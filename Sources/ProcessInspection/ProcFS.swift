import Glibc

/// Reading /proc with open/read/readlink/getdents only (no Foundation), for `bulkhead status`.
public enum ProcFS {
    /// The namespaces `bulkhead status` compares with the host's (PID 1's).
    public static let namespaceKinds = ["mnt", "net", "pid", "ipc", "uts", "user", "cgroup"]

    /// The whole file at `path` (at most 1 MiB), or nil when it cannot be read.
    public static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// readlink(2) of `path`, e.g. `net:[4026531840]`, or nil.
    public static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The numeric entries of directory `path` (pids in /proc, tids in /proc/PID/task), sorted.
    public static func numericEntries(_ path: String) -> [Int32] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var found: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if let n = Int32(name), n > 0 { found.append(n) }
        }
        return found.sorted()
    }

    /// Namespace links of `pid` (kind → `kind:[inode]`); kinds that cannot be read are left out.
    public static func namespaces(of pid: Int32) -> [(kind: String, id: String)] {
        namespaceKinds.compactMap { kind in link("/proc/\(pid)/ns/\(kind)").map { (kind, $0) } }
    }

    /// The namespaces to call "the host's": PID 1's, or — when /proc/1/ns cannot be read (a
    /// sandboxed /proc) — the reader's own, which `bulkhead status` then names as its reference.
    public static func hostNamespaces() -> (reference: String, namespaces: [(kind: String, id: String)]) {
        let first = namespaces(of: 1)
        if !first.isEmpty { return ("pid 1", first) }
        return ("bulkhead status itself (/proc/1/ns unreadable)", namespaces(of: getpid()))
    }

    /// True when /proc/PID exists (a zombie counts as gone: its status says `State: Z`).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, let status = read("/proc/\(pid)/status") else { return false }
        return !status.contains("\nState:\tZ") && !status.contains("\nState:\tX")
    }
}
