import Cgroup
import Glibc
import ProcessInspection
import RunSpecs
import SystemPackage
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
    struct Entry {
        let name: String
        let parent: Int32
        let parentStart: UInt64
        var uid: UInt32?
        var cgroup: CgroupRecord?
        var processes: [(role: String, pid: Int32)]

        var isLive: Bool { VMRegistry.startTime(of: parent) == parentStart }

        init?(name: String, text: String) {
            var parent: (Int32, UInt64)?
            var uid: UInt32?
            var cgroup: CgroupRecord?
            var processes: [(String, Int32)] = []
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if line.hasPrefix("cgroup /") {
                    cgroup = .directory(String(line.dropFirst(7)))
                } else if line.hasPrefix("nocgroup ") {
                    cgroup = .absent(String(line.dropFirst(9)))
                } else if fields.count == 3, fields[0] == "parent", let pid = Int32(fields[1]), let start = UInt64(fields[2]) {
                    parent = (pid, start)
                } else if fields.count == 2, fields[0] == "uid", let value = UInt32(fields[1]) {
                    uid = value
                } else if fields.count == 2, let pid = Int32(fields[1]), pid > 0, VMRegistry.isValidName(String(fields[0])) {
                    processes.append((String(fields[0]), pid))
                }
            }
            guard let parent, parent.0 > 0 else { return nil }
            self.name = name
            self.parent = parent.0
            self.parentStart = parent.1
            self.uid = uid
            self.cgroup = cgroup
            self.processes = processes
        }

        var text: String {
            var out = "parent \(parent) \(parentStart)\n"
            if let uid { out += "uid \(uid)\n" }
            switch cgroup {
            case .directory(let path): out += "cgroup \(path)\n"
            case .absent(let why): out += "nocgroup \(why.split(separator: "\n").joined(separator: " "))\n"
            case nil: break
            }
            for process in processes { out += "\(process.role) \(process.pid)\n" }
            return out
        }
    }

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

/// One VM's place in the registry while `bulkhead run` lives: the directory fds the sealed
/// parent removes it through (unlinkat is in the `parent` profile for this).
final class VMRegistration {
    let name: String
    private(set) var entry: VMRegistry.Entry
    private let rootFD: FileDescriptor?
    private let directoryFD: FileDescriptor?
    private var removed = false

    /// Claims `name` (refused while a live VM holds it; a dead one's entry is pruned first)
    /// and, with `uids`, the lowest uid of the range no live VM holds.
    init(name: String, uids: ClosedRange<UInt32>?) throws {
        guard VMRegistry.isValidName(name) else {
            throw ConfigurationError("--name \(name)", "expected 1 to 64 of A-Z a-z 0-9 _ . - (not starting with .)")
        }
        let root = VMRegistry.root
        if mkdir(root, 0o755) != 0 && errno != EEXIST {
            throw ConfigurationError(root, "cannot create the runtime directory: \(String(cString: strerror(errno)))")
        }
        let entry = try VMRegistry.locked { try Self.claim(name: name, uids: uids, root: root) }
        rootFD = Self.openDirectory(root)
        directoryFD = Self.openDirectory("\(root)/\(name)")
        self.name = name
        self.entry = entry
        guard rootFD != nil, directoryFD != nil else {
            remove()
            throw ConfigurationError(root, "cannot open the runtime directory")
        }
    }

    /// Prunes, then claims `name` and a uid; the caller holds the registry lock.
    private static func claim(name: String, uids: ClosedRange<UInt32>?, root: String) throws -> VMRegistry.Entry {
        let live = VMRegistry.unlockedEntries(prune: true)
        if let holder = live.first(where: { $0.name == name }) {
            throw ConfigurationError("--name \(name)", "in use by a running VM (parent pid \(holder.parent))")
        }
        guard let start = VMRegistry.startTime(of: getpid()) else { throw ConfigurationError("/proc/self/stat", "unreadable") }
        var entry = VMRegistry.Entry(name: name, text: "parent \(getpid()) \(start)\n")!

        // The entry is written under a hidden name and renamed into place: a visible
        // directory always has its file, and rename fails if another VM got there first.
        let claim = "\(root)/.claim-\(getpid())"
        guard mkdir(claim, 0o755) == 0 else { throw ConfigurationError(claim, String(cString: strerror(errno))) }
        guard Self.write(entry.text, to: "\(claim)/processes"), rename(claim, "\(root)/\(name)") == 0 else {
            let reason = String(cString: strerror(errno))
            _ = unlink("\(claim)/processes")
            _ = rmdir(claim)
            throw ConfigurationError("--name \(name)", "cannot register in \(root): \(reason)")
        }
        if let uids {
            var chosen: UInt32?
            for uid in uids where symlink(name, "\(root)/.uid-\(uid)") == 0 {
                chosen = uid
                break
            }
            guard let chosen else {
                VMRegistry.remove(name: name, uid: nil)
                throw ConfigurationError("--uid-range \(uids.lowerBound)-\(uids.upperBound)", "every uid is held by a running VM")
            }
            entry.uid = chosen
            _ = Self.write(entry.text, to: "\(root)/\(name)/processes")
        }
        return entry
    }

    var uid: UInt32? { entry.uid }

    /// The VM's control socket (ControlServer).
    var controlPath: String { "\(VMRegistry.root)/\(name)/\(ControlServer.socketName)" }

    /// Adds the started processes (before sealing: it writes a file).
    func record(_ processes: [(role: String, pid: Int32)]) {
        entry.processes = processes
        rewrite()
    }

    /// Records the VM's cgroup (before it is made, so a parent that dies leaves it findable),
    /// or why it has none (`bulkhead status` says so).
    func record(cgroup: CgroupRecord) {
        entry.cgroup = cgroup
        rewrite()
    }

    private func rewrite() {
        _ = Self.write(entry.text, to: "\(VMRegistry.root)/\(name)/processes.new")
        guard let directoryFD else { return }
        _ = renameat(directoryFD.rawValue, "processes.new", directoryFD.rawValue, "processes")
    }

    /// Removes the uid claim, then the entry, with unlinkat on the directory fds (works sealed,
    /// without the lock): while the entry is live no prune touches the claim, so it is still
    /// this VM's when it goes.
    func remove() {
        guard !removed else { return }
        removed = true
        if let rootFD, let uid = entry.uid { _ = unlinkat(rootFD.rawValue, ".uid-\(uid)", 0) }
        if let directoryFD {
            _ = unlinkat(directoryFD.rawValue, ControlServer.socketName, 0)  // the control socket, if any
            _ = unlinkat(directoryFD.rawValue, "processes", 0)
        }
        if let rootFD {
            _ = unlinkat(rootFD.rawValue, name, AT_REMOVEDIR)
        } else {
            VMRegistry.remove(name: name, uid: entry.uid)
        }
    }

    /// open(2) of a directory, O_CLOEXEC; nil when it cannot be opened.
    private static func openDirectory(_ path: String) -> FileDescriptor? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? FileDescriptor(rawValue: fd) : nil
    }

    private static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}

/// A VM's cgroup in its registry entry: its directory, or why it has none.
enum CgroupRecord: Equatable {
    case directory(String)
    case absent(String)
}
