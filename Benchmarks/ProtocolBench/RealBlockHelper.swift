import BulkheadProtocol
import Glibc
import SystemPackage

/// The real `bulkhead-block` executable (beside this bench), started as the parent starts it:
/// its socket end as fd 3, one declared read-only file, confined in the default kill mode.
enum RealBlockHelper {
    /// The declared file: a small regular file this bench creates and removes.
    static let diskPath = "/tmp/bulkhead-protocol-bench-disk.img"

    /// The directory of /proc/self/exe: where `swift build` puts every product.
    static var executable: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let candidate = String(path[..<slash]) + "/bulkhead-block"
        return access(candidate, X_OK) == 0 ? candidate : nil
    }

    /// The declared file, written anew.
    static func createDisk() {
        let disk = open(diskPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard disk >= 0 else { fatalError("cannot create \(diskPath): errno \(errno)") }
        _ = write(disk, "bench", 5)
        close(disk)
    }

    /// Creates the declared file and spawns the helper on a fresh socketpair.
    static func spawn(_ program: String) -> (client: SeqPacketSocket, pid: pid_t) {
        createDisk()
        guard let (ours, theirs) = try? SeqPacketSocket.pair() else { fatalError("socketpair failed") }
        // Move the helper's end above 3 so dup2 onto 3 always clears FD_CLOEXEC.
        let source = fcntl(theirs.fileDescriptor.rawValue, F_DUPFD_CLOEXEC, 10)
        theirs.close()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, source, 3)
        let arguments = [program, "--socket-fd", "3", "--file", "ro:" + diskPath]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let environment = ["SWIFT_BACKTRACE=enable=no"]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, nil, argv, envp)
        posix_spawn_file_actions_destroy(&actions)
        (argv + envp).forEach { free($0) }
        close(source)
        guard result == 0 else { fatalError("posix_spawn \(program): \(result)") }
        return (ours, pid)
    }
}
