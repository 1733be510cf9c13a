import Glibc

/// Starts `argv[0]` with stdin, stdout and stderr on /dev/null, `fd3` (when given) as its fd 3,
/// and exactly `environment`. Returns its pid, or posix_spawn's error number.
public func spawnQuietly(_ argv: [String], environment: [String], fd3: Int32? = nil) -> Result<pid_t, SpawnFailure> {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var moved: Int32 = -1
    if var source = fd3 {
        // dup2(3, 3) keeps FD_CLOEXEC and the fd would vanish at exec: move it first.
        if source == 3 {
            moved = fcntl(source, F_DUPFD_CLOEXEC, 10)
            source = moved
        }
        posix_spawn_file_actions_adddup2(&actions, source, 3)
    }
    defer { if moved >= 0 { close(moved) } }
    let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    let cEnvironment: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer { (cArgv + cEnvironment).forEach { free($0) } }
    var child: pid_t = 0
    let result = posix_spawn(&child, argv[0], &actions, nil, cArgv, cEnvironment)
    return result == 0 ? .success(child) : .failure(SpawnFailure(program: argv[0], errorNumber: result))
}

public struct SpawnFailure: Error, CustomStringConvertible {
    public let program: String
    public let errorNumber: Int32
    public var description: String { "posix_spawn \(program): \(String(cString: strerror(errorNumber)))" }
}
