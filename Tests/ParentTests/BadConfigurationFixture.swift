import Foundation
import Glibc
import TestSupport

/// One bad-configuration row's own world, so that "nothing was started, opened or left
/// behind" can be observed rather than assumed:
/// - `files`: every path the rows name (good and bad disks, kernels, a fifo, a symlink, an
///   immutable file…), watched with inotify from just before the run;
/// - `spy`: stand-ins for bulkhead-worker and the helpers (`--helpers SPY`): each records
///   that it was started, then execs the real executable;
/// - `runtime`: the VM registry (BULKHEAD_RUNTIME_DIR), watched as well;
/// - `tap` and `name`: a tap name and a VM name that exist nowhere (pid and a counter).
final class BadConfigurationFixture {
    let root: String
    let files: String
    let spy: String
    let runtime: String
    let tap: String
    let name: String
    /// The worker's uid range (one uid): this row's registry is its own, so the default range
    /// would hand the uid of another VM's worker (whose threads count against NPROC) out again.
    let uids: String
    private var watch: FileWatch?

    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()

    static let spiedExecutables = ["bulkhead-worker", "bulkhead-block", "bulkhead-net", "bulkhead-exec"]

    init() throws {
        let serial = Self.lock.withLock {
            Self.counter += 1
            return Self.counter
        }
        root = "/tmp/bulkhead-badconfig-\(getpid())-\(serial)"
        files = root + "/files"
        spy = root + "/spy"
        runtime = root + "/runtime"
        tap = "bcf\(getpid() % 100_000)x\(serial)"
        name = "badconfig-\(getpid())-\(serial)"
        let uid = 300_000 + Int(getpid() % 10_000) * 200 + serial % 200
        uids = "\(uid)-\(uid)"
        let manager = FileManager.default
        for directory in [files, spy, runtime, files + "/dir"] {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // Through O_CLOEXEC fds (FixtureFile): a child another row or suite spawns meanwhile
        // must not inherit one and close it during this row's watch (a write event in `files`).
        let write = { (name: String, data: Data) throws in _ = try FixtureFile.write(self.files + "/" + name, data) }
        try write("canary.img", Data(count: 64 << 10))
        try write("other.img", Data(count: 64 << 10))
        try write("empty", Data())
        try write("random.bin", Data((0..<8192).map { _ in UInt8.random(in: 0...255) }))
        try write("truncated-elf", Self.truncatedELF)
        try write("immutable.img", Data(count: 4096))
        try write("noexec-hook", Data("#!/bin/sh\n".utf8))
        try FixtureFile.copy("/usr/bin/true", to: files + "/program")
        try FixtureFile.copy("/usr/bin/true", to: files + "/world-writable-hook")
        chmod(files + "/world-writable-hook", 0o777)
        try manager.createSymbolicLink(atPath: files + "/link.img", withDestinationPath: files + "/canary.img")
        try manager.createSymbolicLink(atPath: files + "/dirlink", withDestinationPath: files + "/dir")
        guard mkfifo(files + "/fifo", 0o600) == 0 else { throw POSIXError(.init(rawValue: errno)!) }
        // The rw disks a run would get to: the helper account must be able to write them, or
        // the parent refuses them for that (HelperUserAccess) instead of for the row's item.
        for disk in ["canary.img", "other.img", "immutable.img"] { HelperUserFiles.grant(files + "/" + disk) }
        // Root writes anything its mode bits forbid; an immutable file it cannot write.
        guard shell("chattr +i '\(files)/immutable.img'") == 0 else { throw CocoaError(.fileWriteNoPermission) }
        for executable in Self.spiedExecutables {
            let path = spy + "/" + executable
            let real = ParentRun.directory.appendingPathComponent(executable).path
            // The clean environment has no PATH: builtins and absolute paths only.
            try FixtureFile.write(
                path, text: "#!/bin/sh\n: > '\(spy)/started-\(executable)'\nexec '\(real)' \"$@\"\n", mode: 0o755)
        }
        // The same spies where another user could replace them: a directory anyone may write,
        // and one whose worker belongs to `nobody` (as root, refused before anything runs).
        for (directory, mode) in [(root + "/open-spy", mode_t(0o777)), (root + "/foreign-spy", mode_t(0o755))] {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            chmod(directory, mode)
            for executable in Self.spiedExecutables {
                try FixtureFile.copy(spy + "/" + executable, to: directory + "/" + executable)
            }
        }
        chown(root + "/foreign-spy/bulkhead-worker", 65_534, 65_534)
    }

    deinit {
        _ = shell("chattr -i '\(files)/immutable.img'")
        try? FileManager.default.removeItem(atPath: root)
    }

    /// `$F` → the files directory, `$SPY` → the spy directory, `$TAP` → the tap name,
    /// `$NAME` → the VM name, `$UIDS` → the worker's uid range, `$ROOTDEV` → the block device
    /// mounted on / (`no-block-device-under-/` where there is none: that row then fails).
    func substitute(_ text: String) -> String {
        // The longer placeholders first: `$F` is a prefix of `$FOREIGNSPY`.
        text.replacingOccurrences(of: "$FOREIGNSPY", with: root + "/foreign-spy")
            .replacingOccurrences(of: "$OPENSPY", with: root + "/open-spy")
            .replacingOccurrences(of: "$F", with: files).replacingOccurrences(of: "$SPY", with: spy)
            .replacingOccurrences(of: "$TAP", with: tap).replacingOccurrences(of: "$NAME", with: name)
            .replacingOccurrences(of: "$UIDS", with: uids)
            .replacingOccurrences(of: "$ROOTDEV", with: Self.rootDevice ?? "no-block-device-under-/")
    }

    /// The /dev node of the block device the root file system is on.
    static let rootDevice: String? = {
        var root = stat()
        guard stat("/", &root) == 0 else { return nil }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []
        return names.sorted().map { "/dev/" + $0 }.first { path in
            var info = stat()
            return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFBLK && info.st_rdev == root.st_dev
        }
    }()

    /// From now on every event in `files` and `runtime` is recorded.
    func startWatching() throws { watch = try FileWatch([files, runtime]) }

    /// What happened in `files` and `runtime` since `startWatching`.
    func events() -> [FileWatch.Event] { watch?.events() ?? [] }

    /// The spied executables that were started (spawned by the parent) during the row.
    var started: [String] {
        Self.spiedExecutables.filter { FileManager.default.fileExists(atPath: "\(spy)/started-\($0)") }
    }

    var runtimeEntries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: runtime)) ?? [] }

    /// An ELF64 x86-64 ET_EXEC header announcing two program headers right after it, which
    /// the file does not have.
    static let truncatedELF: Data = {
        var header = [UInt8](repeating: 0, count: 64)
        header[0...7] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0]  // magic, ELFCLASS64, little-endian, version 1
        header[16] = 2  // ET_EXEC
        header[18] = 62  // EM_X86_64
        header[20] = 1
        header[24...27] = [0x00, 0x00, 0x00, 0x01]  // entry 0x1000000
        header[32] = 64  // e_phoff
        header[52] = 64  // e_ehsize
        header[54] = 56  // e_phentsize
        header[56] = 2  // e_phnum
        return Data(header + [UInt8](repeating: 0x90, count: 16))
    }()

}

/// inotify(7) on a few directories (not recursive): every open, read, write, create,
/// delete, rename or attribute change of an entry in them, or of the directory itself.
/// The C calls are inotify_init1, inotify_add_watch and read.
final class FileWatch {
    struct Event: CustomStringConvertible {
        let directory: String
        let name: String
        let mask: UInt32

        var description: String {
            let names: [(UInt32, String)] = [
                (UInt32(IN_ACCESS), "access"), (UInt32(IN_MODIFY), "modify"), (UInt32(IN_ATTRIB), "attrib"),
                (UInt32(IN_CLOSE_WRITE), "close-write"), (UInt32(IN_CLOSE_NOWRITE), "close-nowrite"),
                (UInt32(IN_OPEN), "open"), (UInt32(IN_MOVED_FROM), "moved-from"), (UInt32(IN_MOVED_TO), "moved-to"),
                (UInt32(IN_CREATE), "create"), (UInt32(IN_DELETE), "delete"),
            ]
            return "\(directory)/\(name): " + names.filter { mask & $0.0 != 0 }.map(\.1).joined(separator: ",")
        }
    }

    /// What changes a file: a start-up that failed late may read, never any of these.
    static let writing = UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)

    /// IN_ALL_EVENTS (a macro Swift does not import).
    static let allEvents: UInt32 = 0xFFF

    private let fd: Int32
    private let directories: [Int32: String]

    init(_ paths: [String]) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno)!) }
        var directories: [Int32: String] = [:]
        for path in paths {
            let wd = inotify_add_watch(fd, path, Self.allEvents)
            guard wd >= 0 else { throw POSIXError(.init(rawValue: errno)!) }
            directories[wd] = path
        }
        self.directories = directories
    }

    deinit { close(fd) }

    /// Every event queued since the last call.
    func events() -> [Event] {
        var found: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return found }
            var offset = 0
            while offset + 16 <= count {
                let field = { (at: Int) -> UInt32 in
                    buffer[(offset + at)..<(offset + at + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) }
                }
                let (wd, mask, length) = (Int32(bitPattern: field(0)), field(4), Int(field(12)))
                let nameBytes = buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
                found.append(Event(directory: directories[wd] ?? "?", name: String(decoding: nameBytes, as: UTF8.self), mask: mask))
                offset += 16 + length
            }
        }
    }
}
