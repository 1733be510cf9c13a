import CHelper
import CShim
import Glibc
import SystemPackage

/// sd_notify(3)'s protocol on a socket opened before confinement (DESIGN.md §8). libsystemd's
/// sd_notify creates a socket on every call, which the helper profiles forbid; here the
/// datagram socket is created and connected once at start-up, and every message after is one
/// sendmsg (in the helper-runtime profile). Messages are best effort, as sd_notify's are.
public struct ServiceNotifier: Sendable {
    public let fileDescriptor: FileDescriptor

    /// Connects to `$NOTIFY_SOCKET` (a path, or an abstract name starting with `@`).
    /// nil when the variable is unset or empty; throws when it is set but unusable.
    public static func fromEnvironment() throws(HelperArguments.Problem) -> ServiceNotifier? {
        guard let pointer = getenv("NOTIFY_SOCKET"), pointer.pointee != 0 else { return nil }
        let address = Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer))).map { UInt8(bitPattern: $0) }
        let fd = address.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { bh_notify_connect($0.baseAddress!, $0.count) }
        }
        guard fd >= 0 else {
            throw .init("NOTIFY_SOCKET \(HelperArguments.quoted(address)): \(Errno(rawValue: -fd))")
        }
        unsetenv("NOTIFY_SOCKET")  // nothing this process starts may talk to the manager
        return ServiceNotifier(fileDescriptor: FileDescriptor(rawValue: fd))
    }

    /// Sends one notification (`READY=1`, `STATUS=…`, newline-separated assignments).
    /// A newline inside a STATUS text would start another assignment: callers pass plain text.
    public func send(_ message: String) {
        let bytes = Array(message.utf8)
        _ = bytes.withUnsafeBytes { bh_send_with_fds(fileDescriptor.rawValue, $0.baseAddress, $0.count, nil, 0) }
    }

}

/// A service's stop: on SIGTERM, `STOPPING=1` to `notifier` (if any), then exit 0. SIGTERM is
/// unblocked too: a manager may pass it on blocked, and the mask survives exec.
public enum ServiceStop {
    public static func exitOnTerminate(notifying notifier: ServiceNotifier?) -> Errno? {
        let result = bh_install_stop_handler(notifier?.fileDescriptor.rawValue ?? -1)
        return result < 0 ? Errno(rawValue: -result) : nil
    }
}

/// sd_listen_fds(3)'s check, done by hand: the listening socket is ours only when
/// `$LISTEN_PID` is this process and `$LISTEN_FDS` is 1 (a helper listens on one socket).
public enum SocketActivation {
    /// Checks the environment and clears it (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES), as
    /// sd_listen_fds(1) does. Returns a problem in words, or nil when fd 3 is ours.
    public static func claimListeningSocket() -> String? {
        func value(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        defer {
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_FDNAMES")
        }
        guard let pid = value("LISTEN_PID"), let count = value("LISTEN_FDS") else {
            return "--listen: no socket was passed (LISTEN_PID and LISTEN_FDS are not set)"
        }
        guard pid == String(getpid()) else { return "--listen: LISTEN_PID=\(pid) is not this process" }
        guard count == "1" else { return "--listen: LISTEN_FDS=\(count); exactly one listening socket expected" }
        return nil
    }
}
