import Glibc
import SystemPackage
import Vocabulary

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
