import Glibc
import HostAccess
import RunSpecs
import SystemPackage
import Vocabulary

/// The checks a declared host path gets when the options are read. The link check is the
/// block helper's own walk (PathWalk: from "/", one component at a time, never following a
/// link), so a path passes here exactly when the helper, the console's open and
/// TrustedExecutable would reach it.
enum HostPath {
    /// An absolute path to an existing regular file (or block device, for disks) on storage,
    /// readable (and writable, for a rw disk) by this process; its fstat.
    @discardableResult
    static func existingFile(_ path: String, _ flag: String, allowBlockDevice: Bool = false, writable: Bool = false) throws
        -> FileStatus
    {
        guard path.hasPrefix("/") else { throw ConfigurationError("\(flag) \(path)", "not an absolute path") }
        guard !path.utf8.contains(0), path.utf8.count < PATH_MAX else { throw ConfigurationError("\(flag) \(path)", "not a valid path") }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ConfigurationError("\(flag) \(path)", "does not exist or cannot be reached (\(String(cString: strerror(errno))))")
        }
        // The helpers never follow a symbolic link (nor `..`); say so now, not at start-up.
        let status = try linkFree(path, "\(flag) \(path)")
        let type = status.identity.type
        guard type == .regularFile || (allowBlockDevice && type == .blockDevice) else {
            throw ConfigurationError("\(flag) \(path)", allowBlockDevice ? "not a regular file or block device" : "not a regular file")
        }
        if let fileSystem = KernelFileSystem.name(of: path) {
            throw ConfigurationError("\(flag) \(path)", "is on \(fileSystem), a kernel interface, not storage")
        }
        if writable, type == .blockDevice, let use = HostBlockDevice.use(of: dev_t(status.rawDevice)) {
            throw ConfigurationError("\(flag) \(path)", "\(use) on the host; declare it readonly or use another device")
        }
        // access(2) as well as stat: an immutable file or a read-only mount refuses writing
        // even to root, and the helper would only find out at start-up.
        guard access(path, writable ? R_OK | W_OK : R_OK) == 0 else {
            throw ConfigurationError(
                "\(flag) \(path)", "cannot be \(writable ? "read and written" : "read") (\(String(cString: strerror(errno))))")
        }
        return status
    }

    /// The fstat of the existing `path` reached without a link (the last component may not be
    /// one either) and in canonical form: no `.` or `..`, which could lead into /proc, or
    /// anywhere the declaration did not say.
    @discardableResult
    static func linkFree(_ path: String, _ item: String) throws -> FileStatus {
        let canonical: CanonicalPath
        do { canonical = try CanonicalPath(validating: path) } catch {
            switch error {
            case .dotComponent, .dotDotComponent: throw ConfigurationError(item, "has a . or .. component; declare the canonical path")
            default: throw ConfigurationError(item, "\(error)")
            }
        }
        let status: FileStatus
        do {
            let file = try PathWalk.open(canonical, last: .identify)
            defer { try? file.close() }
            status = try FileStatus.of(file)
        } catch let failure as PathWalk.Failure {
            // The path exists (stat followed it): a component that is no directory is a link.
            guard failure.errno == .notDirectory || failure.errno == .tooManySymbolicLinkLevels else {
                throw ConfigurationError(item, failure.reason)
            }
            throw ConfigurationError(item, "\(String(decoding: failure.prefix, as: UTF8.self)) is a symbolic link; declare the real path")
        }
        // O_PATH|O_NOFOLLOW opens a link itself rather than failing.
        if status.identity.type == .symbolicLink { throw ConfigurationError(item, "\(path) is a symbolic link; declare the real path") }
        return status
    }
}
