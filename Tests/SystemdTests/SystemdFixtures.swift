import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage

/// The built executables: beside the test binary (or the directory above the .xctest bundle).
enum BuiltProducts {
    static let directory: String = {
        var url = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        if url.path.hasSuffix(".xctest") { url = url.deletingLastPathComponent() }
        return url.path
    }()

    static func path(_ program: String) -> String { directory + "/" + program }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under /tmp, removed when released.
final class ScratchDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/bh-systemd-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError("mkdtemp: errno \(errno)") }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }
}

/// Runs a program to its end and returns its status and combined output.
func runToEnd(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// socket(AF_UNIX, SOCK_SEQPACKET) connected to `path`, retried while the listener starts.
func connectSeqPacket(to path: String, timeout: Duration = .seconds(10)) throws -> SeqPacketSocket {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result == 0 {
            let socket = SeqPacketSocket(FileDescriptor(rawValue: fd))
            try socket.setReceiveTimeout(microseconds: 20_000_000)
            return socket
        }
        let problem = errno
        close(fd)
        guard clock.now < deadline, problem == ENOENT || problem == ECONNREFUSED else {
            throw FixtureError("connect \(path): errno \(problem)")
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
}

/// A datagram socket bound at a path: the test's NOTIFY_SOCKET, as the service manager's.
final class NotifyListener {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw FixtureError("bind \(path): errno \(errno)") }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next message, or nil after `seconds`.
    func next(seconds: Int = 20) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count < 0 ? nil : String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Messages until one contains `text` (all of them, in order), or nil at the timeout.
    func until(_ text: String, seconds: Int = 20) -> [String]? {
        var seen: [String] = []
        while let message = next(seconds: seconds) {
            seen.append(message)
            if message.contains(text) { return seen }
        }
        return nil
    }
}

/// `systemd-socket-activate --seqpacket -l SOCKET [-E NOTIFY_SOCKET] HELPER ARGS…`: at the first
/// connection attempt the helper is exec'd by it (same pid) with the listening socket as
/// fd 3, LISTEN_FDS=1 and LISTEN_PID — as systemd starts a service on demand.
final class ActivatedHelper {
    let process = Process()
    let socketPath: String
    let log: Pipe = Pipe()

    init(
        program: String, socketPath: String, notifySocket: String? = nil, extraEnvironment: [String: String] = [:],
        arguments: [String]
    ) throws {
        self.socketPath = socketPath
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        var environment = ["SWIFT_BACKTRACE": "enable=no"]
        var options = ["--seqpacket", "-l", socketPath]
        for (name, value) in extraEnvironment.sorted(by: { $0.key < $1.key }) {
            environment[name] = value
            options += ["-E", name]
        }
        if let notifySocket {
            environment["NOTIFY_SOCKET"] = notifySocket
            options += ["-E", "NOTIFY_SOCKET"]
        }
        process.environment = environment
        process.arguments = options + [BuiltProducts.path(program)] + arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        unlink(socketPath)
    }

    /// SIGTERM (the service manager's stop) and the exit status; SIGKILL and -1 if it is still
    /// running after 10 s (systemd-socket-activate itself, before its first connection,
    /// has SIGTERM blocked).
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<200 where process.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -1
        }
        return process.terminationStatus
    }

    /// Everything it wrote, once it has ended.
    var output: String { String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
}
