import Glibc
import HostAccess
import RunSpecs
import SystemPackage
import Vocabulary

/// As root, `bulkhead run` starts its worker and helpers from `--helpers DIR` (or beside
/// itself) before anything is confined: a program another user could replace — or a
/// directory on its way where another user could swap it — would run with root's power.
/// So, like sudo's secure path, every component of the executable's real path must be
/// owned by root and writable by no one else (a sticky directory such as /tmp passes, as
/// its entries can be replaced only by their owners, and the next component must be root's).
/// And what was checked is what runs: the real path is walked from "/" without following a
/// link (PathWalk), each component checked on its open fd, and the program's O_PATH fd is
/// what bh_spawn executes (execveat), never the path, which a swapped link could redirect.
enum TrustedExecutable {
    /// The program `path` names, opened O_PATH for bh_spawn; as root, checked as above.
    static func open(_ path: String) throws(ConfigurationError) -> FileDescriptor {
        guard let resolved = realpath(path, nil) else {
            throw ConfigurationError(path, "cannot be resolved (\(String(cString: strerror(errno))))")
        }
        let real = String(cString: resolved)
        free(resolved)
        let canonical: CanonicalPath
        do { canonical = try CanonicalPath(validating: real) } catch {
            throw ConfigurationError(path, "resolves to \(real), which cannot be opened: \(error)")
        }
        let inspect: PathWalk.Inspection? =
            geteuid() == 0 ? { prefix, status in problem(with: status, isTarget: prefix == canonical.bytes) } : nil
        do {
            return try PathWalk.open(canonical, last: .identify, inspect: inspect)
        } catch {
            let prefix = String(decoding: error.prefix, as: UTF8.self)
            guard let problem = error.problem else {
                throw ConfigurationError(path, "\(prefix) cannot be examined (\(error.errno))")
            }
            throw ConfigurationError(
                path,
                "\(prefix) \(problem); as root bulkhead starts only programs no other user can replace: "
                    + "install them in a root-owned directory or chmod go-w / chown root")
        }
    }

    /// Why a component with `status` could be replaced by someone other than root (or, for the
    /// program itself, is no program), or nil.
    static func problem(with status: FileStatus, isTarget: Bool) -> String? {
        let mode = status.mode & 0o7777
        if status.owner != 0 { return "is owned by uid \(status.owner), not root" }
        let othersMayWrite = mode & 0o022 != 0
        let sticky = status.identity.type == .directory && mode & 0o1000 != 0
        if othersMayWrite && (isTarget || !sticky) {
            return "is writable by its group or others (mode \(String(mode, radix: 8)))"
        }
        if isTarget && status.identity.type != .regularFile { return "is \(status.identity.type), not a program" }
        if isTarget && mode & 0o111 == 0 { return "is not executable" }
        return nil
    }
}
