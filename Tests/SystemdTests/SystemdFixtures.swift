import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import TestSupport

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
        return try FixtureFile.write(file, text: text)
    }
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
/// fd 3, LISTEN_FDS=1 and LISTEN_PID — as systemd starts a service on demand. Spawned with
/// posix_spawn and reaped here with waitpid (not Foundation.Process, whose reaper must not
/// wait on a process that only ends when the test says so).
final class ActivatedHelper {
    let pid: pid_t
    let socketPath: String
    private var status: Int32?

    init(
        program: String, socketPath: String, notifySocket: String? = nil, extraEnvironment: [String: String] = [:],
        arguments: [String]
    ) throws {
        self.socketPath = socketPath
        var environment = ["SWIFT_BACKTRACE": "enable=no"]
        var options = ["--seqpacket", "-l", socketPath]
        if let notifySocket {
            environment["NOTIFY_SOCKET"] = notifySocket
            options += ["-E", "NOTIFY_SOCKET"]
        }
        for (name, value) in extraEnvironment.sorted(by: { $0.key < $1.key }) {
            environment[name] = value
            options += ["-E", name]
        }
        let executable = "/usr/bin/systemd-socket-activate"
        let argv = [executable] + options + [BuiltProducts.path(program)] + arguments
        pid = try spawnQuietly(argv, environment: environment.map { "\($0.key)=\($0.value)" }).get()
    }

    deinit {
        if status == nil {
            kill(pid, SIGKILL)
            _ = waitForExit(seconds: 10)
        }
        unlink(socketPath)
    }

    /// The exit status (or 128 + signal), or nil if it is still running after `seconds`.
    func waitForExit(seconds: Double) -> Int32? {
        if let status { return status }
        for _ in 0..<Int(seconds * 20) {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                let signal = raw & 0x7F
                status = signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
                return status
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    /// SIGTERM (the service manager's stop) and the exit status; SIGKILL and -1 if it is still
    /// running after 10 s (systemd-socket-activate itself, before its first connection,
    /// has SIGTERM blocked).
    func stop() -> Int32 {
        kill(pid, SIGTERM)
        if let status = waitForExit(seconds: 10) { return status }
        kill(pid, SIGKILL)
        _ = waitForExit(seconds: 10)
        return -1
    }
}
