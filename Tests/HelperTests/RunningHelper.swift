import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import Testing
import TestSupport

struct SpawnError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A real helper process started the way the parent starts one: its socket end mapped to
/// fd 3 (`--socket-fd 3`), stdin /dev/null, stdout and stderr into a file the test reads,
/// environment `SWIFT_BACKTRACE=enable=no` plus what the test adds. Ended and reaped when released.
final class RunningHelper {
    let program: String
    let pid: pid_t
    /// The test's end of the connection; nil if the helper got another fd as fd 3.
    let socket: SeqPacketSocket?
    let client: RequestClient?
    private let logPath: String
    private var status: Int32?
    /// The socket was closed by `hangUp` (a second close could hit a reused fd number).
    private var hungUp = false

    /// Starts `program` with `arguments` after `--socket-fd 3`, `environment` added.
    convenience init(_ program: String, _ arguments: [String], environment: [String] = []) throws {
        let (ours, theirs) = try SeqPacketSocket.pair()
        defer { theirs.close() }
        try self.init(
            program, bytes: (["--socket-fd", "3"] + arguments).map { Array($0.utf8) }, fd3: theirs.fileDescriptor.rawValue,
            socket: ours, environment: environment)
        try ours.setReceiveTimeout(microseconds: 20_000_000)
    }

    /// Starts `executable` (a helper name or an absolute path) with exactly `arguments`,
    /// `fd3` (if any) as its fd 3, and keeps `socket` as the test's end.
    convenience init(_ executable: String, _ arguments: [String], fd3: Int32?, socket: SeqPacketSocket?) throws {
        try self.init(executable, bytes: arguments.map { Array($0.utf8) }, fd3: fd3, socket: socket)
    }

    /// As above, with arguments as raw bytes (a path on argv need not be UTF-8).
    init(_ executable: String, bytes arguments: [[UInt8]], fd3: Int32?, socket: SeqPacketSocket?, environment extra: [String] = []) throws {
        program = executable
        let path = executable.hasPrefix("/") ? executable : BuiltProducts.path(executable)
        logPath = "/tmp/bh-helper-log-\(getpid())-\(UUID().uuidString)"
        let log = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw SpawnError("cannot create \(logPath): errno \(errno)") }
        defer { close(log) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, log, 1)
        posix_spawn_file_actions_adddup2(&actions, log, 2)
        var movedFD: Int32 = -1
        if let fd3 {
            // dup2(3, 3) would keep FD_CLOEXEC and the fd would vanish at exec: move it first.
            var source = fd3
            if fd3 == 3 {
                movedFD = fcntl(fd3, F_DUPFD_CLOEXEC, 10)
                source = movedFD
            }
            posix_spawn_file_actions_adddup2(&actions, source, 3)
        }
        defer { if movedFD >= 0 { close(movedFD) } }

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path)] + arguments.map { bytes in
            (bytes + [0]).withUnsafeBufferPointer { strdup(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) }
        } + [nil]
        let environment: [String] = ["SWIFT_BACKTRACE=enable=no"] + extra
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, path, &actions, nil, argv, envp)
        guard result == 0 else { throw SpawnError("posix_spawn \(path): \(result)") }
        pid = child
        self.socket = socket
        client = socket.map(RequestClient.init)
    }

    deinit {
        if status == nil {
            kill(pid, SIGKILL)
            _ = waitForExit(timeout: .seconds(10))
        }
        if !hungUp { socket?.close() }
        unlink(logPath)
    }

    /// The version handshake; returns the name the helper answered with.
    func hello() throws -> String { try client!.hello().helper }

    /// Everything the helper wrote to stdout and stderr so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Closes the test's end: the helper sees its peer hang up.
    func hangUp() {
        if !hungUp { socket?.close() }
        hungUp = true
    }

    /// Waits for the helper to end and returns its raw wait status, or nil at the timeout.
    func waitForExit(timeout: Duration = .seconds(20)) -> Int32? {
        if let status { return status }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var raw: Int32 = 0
        while clock.now < deadline {
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid {
                status = raw
                return raw
            }
            if reaped < 0 && errno != EINTR { return nil }
            usleep(5_000)
        }
        return nil
    }

    /// The exit status if it exited normally, or nil (still running, or killed by a signal).
    func exitStatus(timeout: Duration = .seconds(20)) -> Int32? {
        guard let raw = waitForExit(timeout: timeout), raw & 0x7F == 0 else { return nil }
        return (raw >> 8) & 0xFF
    }

    /// /proc/PID/status as `key → value`.
    func procStatus() throws -> [String: String] {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// The fd numbers the helper holds (/proc/PID/fd), sorted.
    func openFDs() throws -> [Int] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Int($0) }.sorted()
    }

    /// What the helper's fd `fd` refers to (readlink of /proc/PID/fd/N).
    func fdTarget(_ fd: Int) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")
    }
}

/// The refusal text of an error reply, or nil if `error` is not one. An error reply never
/// carries fds: RequestClient throws `.unexpectedFDs` for one that does (and closes them).
func refusal(_ error: Error) -> String? {
    guard case ProtocolError.remote(let code, let message) = error, code == ProtocolError.refused("").code else {
        return nil
    }
    return message
}

/// Runs a host command (ip, …) and returns its status and output.
@discardableResult
func host(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try runToEnd("/usr/bin/env", arguments)
}

/// The access mode (O_RDONLY, O_WRONLY, O_RDWR) an fd was opened with: fcntl(F_GETFL).
func accessMode(of fd: FileDescriptor) -> Int32 { fcntl(fd.rawValue, F_GETFL) & O_ACCMODE }

/// What /proc/self/fd/N points at.
func linkTarget(of fd: FileDescriptor) -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd.rawValue)")) ?? ""
}
