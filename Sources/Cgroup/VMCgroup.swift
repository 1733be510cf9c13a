import CParent
import Glibc
import ProcessInspection
import SystemPackage
import Vocabulary

/// One VM's cgroup in the v2 hierarchy (DESIGN.md §7): `bulkhead/vm-NAME` under the parent's
/// own cgroup, created before any child exists. Every child is born in it (bh_spawn: clone3
/// with CLONE_INTO_CGROUP and `joinFD`); the parent stays outside. The sealed parent, which holds
/// no capability, ends the VM by writing "1" to `cgroup.kill` (kernel ≥ 5.14: SIGKILL to every
/// process inside, whatever its uid) and removes the directory once it has reaped every child,
/// both through fds opened here, before sealing.
///
/// Why the `bulkhead` level: removing a cgroup needs write permission on the directory above
/// it, and a hierarchy's root is often mode 555 (it is here), which only CAP_DAC_OVERRIDE
/// passes. `bulkhead` is made once, by root, mode 755, and stays (as /run/bulkhead does), so
/// the sealed parent — still uid 0 but without any capability — can remove its VM's cgroup.
/// It never holds a process itself, so it may also pass controllers on (cgroup v2's
/// no-internal-process rule).
public final class VMCgroup {
    /// e.g. `/sys/fs/cgroup/unified/bulkhead/vm-vm1`.
    public let directory: String
    public let name: String
    /// The parent cgroup's directory: the VM cgroup is removed with unlinkat(AT_REMOVEDIR) on it.
    private let parentFD: FileDescriptor
    /// The cgroup's directory, for clone3(CLONE_INTO_CGROUP); closed (nil) before sealing.
    public private(set) var joinFD: FileDescriptor?
    /// `cgroup.kill`, write-only; nil on a kernel before 5.14 (the parent must then keep CAP_KILL).
    private let killFD: FileDescriptor?
    private var removed = false

    public static let containerName = "bulkhead"
    public static let namePrefix = "vm-"
    /// How long `remove` waits for killed processes (orphans of a helper) to leave.
    public static let removeWaitMilliseconds = 1000

    /// The directory of the VM named `vmName` under the cgroup directory `ownDirectory`.
    public static func directory(of vmName: String, under ownDirectory: String) -> String {
        "\(ownDirectory)/\(containerName)/\(namePrefix)\(vmName)"
    }

    /// Creates `bulkhead/vm-NAME` in the cgroup directory `ownDirectory` (the parent's own
    /// cgroup), enables the controllers `limits` needs on the way and writes the limits. Nothing
    /// is left behind on failure but the `bulkhead` level, which is meant to stay.
    public init(under ownDirectory: String, vmName: String, limits: CgroupLimits) throws(ConfigurationError) {
        name = Self.namePrefix + vmName
        directory = Self.directory(of: vmName, under: ownDirectory)
        let containerDirectory = ownDirectory + "/" + Self.containerName
        let parent = try Self.openContainer(under: ownDirectory, limits: limits)
        var created = false
        var join: FileDescriptor?
        do throws(ConfigurationError) {
            try Self.enableControllers(for: limits, parentFD: parent, parentDirectory: containerDirectory)
            guard mkdirat(parent.rawValue, name, 0o755) == 0 else {
                let why = errno == EEXIST
                    ? "already exists (a leftover of a VM of that name? `bulkhead status` removes those whose parent died)"
                    : "cannot create it: \(Self.text(errno))"
                throw ConfigurationError(directory, why)
            }
            created = true
            join = parent.openAt(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard let join else { throw ConfigurationError(directory, "cannot open it: \(Self.text(errno))") }
            try Self.writeLimits(limits, cgroupFD: join, directory: directory)
            // A directory without it is no cgroup (or not a v2 one): nothing could join it.
            guard faccessat(join.rawValue, "cgroup.procs", W_OK, 0) == 0 else {
                throw ConfigurationError("\(directory)/cgroup.procs", "cannot be written: \(Self.text(errno))")
            }
            killFD = join.openAt("cgroup.kill", O_WRONLY | O_CLOEXEC)
        } catch {
            try? join?.close()
            if created { _ = unlinkat(parent.rawValue, name, AT_REMOVEDIR) }
            try? parent.close()
            throw error
        }
        parentFD = parent
        joinFD = join
    }

    deinit {
        closeJoinFD()
        try? killFD?.close()
        try? parentFD.close()
    }

    /// True when the kernel has `cgroup.kill`: the parent then needs no capability to end the VM.
    public var canKill: Bool { killFD != nil }

    /// After the last child is spawned: the sealed parent starts no process.
    public func closeJoinFD() {
        try? joinFD?.close()
        joinFD = nil
    }

    /// SIGKILL to every process in the cgroup (writes "1" to `cgroup.kill`). Returns 0 or an errno.
    @discardableResult
    public func killAll() -> Int32 {
        guard let killFD else { return ENOTSUP }
        return Self.write("1", to: killFD)
    }

    /// Removes the cgroup (the parent has reaped its children). A process still inside — an
    /// orphan a helper left — is killed first and waited for. Returns nil or why it failed.
    @discardableResult
    public func remove() -> String? {
        guard !removed else { return nil }
        removed = true
        return Self.removeDirectory(name, in: parentFD, directory: directory) { killAll() }
    }

    /// unlinkat(AT_REMOVEDIR) of the cgroup `name` in `parentFD`; while it still holds a process
    /// (EBUSY), `kill` once, then retry every 10 ms for up to `removeWaitMilliseconds`. A cgroup
    /// already gone counts as removed. Nil, or why it stays.
    static func removeDirectory(_ name: String, in parentFD: FileDescriptor, directory: String, kill: () -> Void) -> String? {
        var waited = 0
        while unlinkat(parentFD.rawValue, name, AT_REMOVEDIR) != 0 {
            if errno == ENOENT { return nil }
            guard errno == EBUSY, waited < removeWaitMilliseconds else { return "rmdir \(directory): \(text(errno))" }
            if waited == 0 { kill() }
            var none: [pollfd] = []
            _ = bh_ppoll_ms(&none, 0, 10)
            waited += 10
        }
        return nil
    }

    /// `bulkhead` in `ownDirectory`, made when missing (with the controllers `limits` needs
    /// enabled for it); refused unless it is a directory of this uid that only it may write.
    static func openContainer(under ownDirectory: String, limits: CgroupLimits) throws(ConfigurationError) -> FileDescriptor {
        guard let own = openDirectory(ownDirectory) else {
            throw ConfigurationError(ownDirectory, "cannot open the cgroup: \(text(errno))")
        }
        defer { try? own.close() }
        try enableControllers(for: limits, parentFD: own, parentDirectory: ownDirectory)
        let path = ownDirectory + "/" + containerName
        if mkdirat(own.rawValue, containerName, 0o755) != 0 && errno != EEXIST {
            throw ConfigurationError(path, "cannot create it: \(text(errno))")
        }
        guard let fd = own.openAt(containerName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) else {
            throw ConfigurationError(path, "cannot open it: \(text(errno))")
        }
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o022 == 0 else {
            try? fd.close()
            throw ConfigurationError(path, "is not owned by uid \(geteuid()) or is writable by others; bulkhead does not use it")
        }
        return fd
    }

    /// Enables each controller `limits` needs in `cgroup.subtree_control` of the parent cgroup
    /// when `cgroup.controllers` lists it and it is not enabled yet.
    public static func enableControllers(for limits: CgroupLimits, parentFD: FileDescriptor, parentDirectory: String) throws(ConfigurationError) {
        let enabled = CgroupHierarchy.enabledControllers(inDirectory: parentDirectory)
        for (controller, _) in limits.writes where !enabled.contains(controller.rawValue) {
            guard CgroupHierarchy.controllers(inDirectory: parentDirectory).contains(controller.rawValue) else {
                throw ConfigurationError(controller.option, "the \(controller.rawValue) controller is not offered in \(parentDirectory)/cgroup.controllers")
            }
            let fd = parentFD.openAt("cgroup.subtree_control", O_WRONLY | O_CLOEXEC)
            let failure = fd.map { write("+\(controller.rawValue)", to: $0) } ?? errno
            try? fd?.close()
            guard failure == 0 else {
                var why = "cannot enable the \(controller.rawValue) controller in \(parentDirectory)/cgroup.subtree_control: \(text(failure))"
                let inside = CgroupHierarchy.words(ProcFS.read("\(parentDirectory)/cgroup.procs")).count
                if failure == EBUSY && inside > 0 {
                    why += " (it holds \(inside) process(es) itself, and cgroup v2's no-internal-process rule lets such a"
                    why += " cgroup, the root aside, enable no controller for its children)"
                }
                throw ConfigurationError(controller.option, why)
            }
        }
    }

    /// Writes each limit to its file (`memory.max`, `pids.max`) in the cgroup open as `cgroupFD`.
    public static func writeLimits(_ limits: CgroupLimits, cgroupFD: FileDescriptor, directory: String) throws(ConfigurationError) {
        for (controller, value) in limits.writes {
            // O_TRUNC as `echo N > pids.max` opens it (cgroupfs ignores it; a file laid out
            // like a cgroup, in the tests, then holds exactly what was written).
            let fd = cgroupFD.openAt(controller.limitFile, O_WRONLY | O_TRUNC | O_CLOEXEC)
            let failure = fd.map { write("\(value)", to: $0) } ?? errno
            try? fd?.close()
            guard failure == 0 else {
                throw ConfigurationError(controller.option, "cannot write \(value) to \(directory)/\(controller.limitFile): \(text(failure))")
            }
        }
    }

    /// A cgroup a dead VM left (`bulkhead status`, the next `bulkhead run`): every process
    /// inside is killed through `cgroup.kill`, then the directory is removed. Nil or why not.
    public static func removeLeftover(_ directory: String) -> String? {
        guard let slash = directory.lastIndex(of: "/"), slash != directory.startIndex else { return "\(directory): not a cgroup path" }
        guard let parent = openDirectory(String(directory[..<slash])) else { return "\(directory): \(text(errno))" }
        defer { try? parent.close() }
        let name = String(directory[directory.index(after: slash)...])
        return removeDirectory(name, in: parent, directory: directory) {
            if let kill = parent.openAt("\(name)/cgroup.kill", O_WRONLY | O_CLOEXEC) {
                _ = write("1", to: kill)
                try? kill.close()
            }
        }
    }

    /// One write(2) of `text`; 0 or the errno (cgroupfs takes a value in one write).
    static func write(_ text: String, to fd: FileDescriptor) -> Int32 {
        var text = text
        let n = text.withUTF8 { Glibc.write(fd.rawValue, $0.baseAddress, $0.count) }
        return n == text.utf8.count ? 0 : (n < 0 ? errno : EIO)
    }

    static func text(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// open(2) of a directory by path, O_CLOEXEC; nil (errno set) on failure.
    static func openDirectory(_ path: String) -> FileDescriptor? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? FileDescriptor(rawValue: fd) : nil
    }
}

extension FileDescriptor {
    /// openat(2) of `name` in this directory; nil (errno set) on failure.
    func openAt(_ name: String, _ flags: Int32) -> FileDescriptor? {
        let fd = openat(rawValue, name, flags)
        return fd >= 0 ? FileDescriptor(rawValue: fd) : nil
    }
}
