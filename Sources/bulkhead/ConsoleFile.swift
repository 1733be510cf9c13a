import Glibc
import HostAccess
import SystemPackage

/// The `--console FILE` the parent opens as root for the worker. RunConfiguration checked it
/// earlier, by name; in between, another user who can write a directory on the way could
/// swap a component for a link. So the path is walked from "/" without following any link
/// (PathWalk, as the block helper does), the file is created if absent, and it must be a
/// regular file (truncated only once it is known to be one) or a terminal: a FIFO without a
/// reader fails instead of blocking, and a device other than a terminal is refused.
enum ConsoleFile {
    static func open(_ path: String) throws(LaunchError) -> FileDescriptor {
        let item = "--console \(path)"
        let file: FileDescriptor
        do {
            file = try PathWalk.open(try CanonicalPath(validating: path), last: .createWriteOnly)
        } catch let failure as PathWalk.Failure {
            throw .system("\(item): \(failure.reason)")
        } catch {
            throw .system("\(item): \(error)")
        }
        if let problem = prepare(file) {
            try? file.close()
            throw .system("\(item): \(problem)")
        }
        return file
    }

    /// Truncates a regular file, accepts a terminal, and clears O_NONBLOCK (only the open
    /// needed it: the worker's writes block as usual). The reason it cannot be the console, or nil.
    private static func prepare(_ file: FileDescriptor) -> String? {
        let status: FileStatus
        do { status = try FileStatus.of(file) } catch { return "fstat: \(error)" }
        switch status.identity.type {
        case .regularFile:
            guard ftruncate(file.rawValue, 0) == 0 else { return "cannot be truncated (\(Errno(rawValue: errno)))" }
        case .characterDevice where isatty(file.rawValue) == 1:
            break
        case let type:
            return "is \(type), not a regular file or a terminal"
        }
        let flags = fcntl(file.rawValue, F_GETFL)
        guard flags >= 0, fcntl(file.rawValue, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            return "fcntl: \(Errno(rawValue: errno))"
        }
        return nil
    }
}
