import Cgroup
import Glibc
import ProcessInspection
import Vocabulary

/// The runtime registry of running VMs (DESIGN.md §7, `bulkhead status`): one directory per VM,
/// `/run/bulkhead/NAME/` (BULKHEAD_RUNTIME_DIR overrides the root, for tests), holding one
/// file, `processes`:
///
///     parent PID STARTTIME
///     uid UID
///     cgroup /sys/fs/cgroup/unified/bulkhead/vm-NAME     (or: nocgroup WHY)
///     worker PID
///     net PID
///
/// STARTTIME (field 22 of /proc/PID/stat) tells a live parent from a reused pid. A VM's uid is
/// claimed with a symlink `.uid-UID → NAME` (symlink(2) is atomic), so two VMs never share
/// one. The VM's cgroup (CgroupSetup) is recorded before it is made, so it is found again.
/// Everything is removed when the VM ends (the sealed parent unlinks through directory
/// fds it opened before sealing); what a SIGKILLed parent left — its cgroup too, with
/// anything still running in it killed — is pruned by the next `bulkhead run` or `bulkhead status`.
///
/// Claiming and pruning hold an flock on the root directory (`locked`): a prune that
/// listed the entries just before another VM renamed its entry into place would otherwise
/// take that VM's fresh `.uid-UID` for a dead one's and remove it, and a third VM would then
/// claim the same uid (found by the load test: 16 VMs started at once, two shared a uid,
/// and one worker's threads failed on the shared RLIMIT_NPROC). A VM removes its own claim
/// first, while its entry is still live, so no prune and no claim can come between.
struct VMRegistry {
    static var root: String {
        getenv("BULKHEAD_RUNTIME_DIR").map { String(cString: $0) } ?? "/run/bulkhead"
    }

    /// `[A-Za-z0-9_.-]{1,64}`, not starting with a dot (`Names.isValidVMName`).
    static func isValidName(_ name: String) -> Bool { Names.isValidVMName(name) }

    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), nil when gone or a zombie.
    static func startTime(of pid: Int32) -> UInt64? {
        guard pid > 0, let stat = ProcFS.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }

    /// Every registered VM; with `prune`, entries whose parent is gone are removed on the way
    /// (under the registry lock).
    static func entries(prune: Bool) -> [Entry] {
        prune ? locked { unlockedEntries(prune: true) } : unlockedEntries(prune: false)
    }

    /// Runs `body` holding an exclusive flock on the root directory, which serialises claims
    /// and prunes between `bulkhead` processes. Without a root to lock it runs unlocked (the
    /// claim then fails on its own when it cannot create the entry).
    static func locked<T>(_ body: () throws -> T) rethrows -> T {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return try body() }
        defer { close(fd) }  // closing releases the lock
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        return try body()
    }

    /// `entries` for a caller that already holds the lock.
    static func unlockedEntries(prune: Bool) -> [Entry] {
        var live: [Entry] = []
        for name in directoryNames(root) where isValidName(name) {
            let entry = ProcFS.read("\(root)/\(name)/processes").flatMap { Entry(name: name, text: $0) }
            if let entry, entry.isLive {
                live.append(entry)
            } else if prune {
                // A directory without a readable entry is a start-up that died before writing
                // it (the claim writes the file before the directory gets its name).
                if case .directory(let path) = entry?.cgroup {
                    guard let entry, let failure = removeLeftoverCgroup(path, of: entry.name) else {
                        remove(name: name, uid: entry?.uid)
                        continue
                    }
                    // Kept, so that the next prune tries again; the name stays taken meanwhile.
                    StandardError.line("cannot remove the cgroup VM \(name) left: \(failure)")
                    continue
                }
                remove(name: name, uid: entry?.uid)
            }
        }
        if prune {
            for name in directoryNames(root) where name.hasPrefix(".uid-") {
                let target = ProcFS.link("\(root)/\(name)")
                if !live.contains(where: { $0.name == target }) { _ = unlink("\(root)/\(name)") }
            }
            // A claim whose parent died before renaming it into place.
            for name in directoryNames(root) where name.hasPrefix(".claim-") {
                guard let pid = Int32(name.dropFirst(7)), !ProcFS.isAlive(pid) else { continue }
                _ = unlink("\(root)/\(name)/processes")
                _ = rmdir("\(root)/\(name)")
            }
        }
        return live.sorted { $0.name < $1.name }
    }

    /// A dead VM's cgroup: only a `bulkhead/vm-NAME` directory of this host's v2 hierarchy is
    /// touched (the entry is root's, but a path is checked like any input);
    /// whatever still runs in it is killed, then it is removed. Nil, or why not.
    static func removeLeftoverCgroup(_ path: String, of name: String) -> String? {
        guard let hierarchy = CgroupHierarchy.mounted() else { return "no cgroup v2 hierarchy is mounted" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard path.hasPrefix(hierarchy.mountPoint + "/"), components.last == Substring(VMCgroup.namePrefix + name),
            components.dropLast().last == Substring(VMCgroup.containerName),
            !components.dropFirst().contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else { return "\(path) is not a VM cgroup of \(hierarchy.mountPoint); left alone" }
        return VMCgroup.removeLeftover(path)
    }

    static func remove(name: String, uid: UInt32?) {
        if let uid, ProcFS.link("\(root)/.uid-\(uid)") == name { _ = unlink("\(root)/.uid-\(uid)") }
        _ = unlink("\(root)/\(name)/\(ControlServer.socketName)")
        _ = unlink("\(root)/\(name)/processes")
        _ = rmdir("\(root)/\(name)")
    }

    static func directoryNames(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
