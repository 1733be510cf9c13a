import Glibc
import RunSpecs

/// As root, `bulkhead run` starts its worker and helpers from `--helpers DIR` (or beside
/// itself) before anything is confined: a program another user could replace — or a
/// directory on its way where another user could swap it — would run with root's power.
/// So, like sudo's secure path, every component of the executable's real path must be
/// owned by root and writable by no one else (a sticky directory such as /tmp passes, as
/// its entries can be replaced only by their owners, and the next component must be root's).
enum TrustedExecutable {
    static func check(_ path: String) throws(ConfigurationError) {
        guard let resolved = realpath(path, nil) else {
            throw ConfigurationError(path, "cannot be resolved (\(String(cString: strerror(errno))))")
        }
        let real = String(cString: resolved)
        free(resolved)
        var prefix = ""
        for component in [""] + real.split(separator: "/").map(String.init) {
            prefix = component.isEmpty ? "/" : (prefix == "/" ? "/" : prefix + "/") + component
            var info = stat()
            guard lstat(prefix, &info) == 0 else {
                throw ConfigurationError(path, "\(prefix) cannot be examined (\(String(cString: strerror(errno))))")
            }
            if let problem = problem(with: info, isTarget: prefix == real) {
                throw ConfigurationError(
                    path,
                    "\(prefix) \(problem); as root bulkhead starts only programs no other user can replace: "
                        + "install them in a root-owned directory or chmod go-w / chown root")
            }
        }
    }

    /// Why a component with `info` could be replaced by someone other than root, or nil.
    static func problem(with info: stat, isTarget: Bool) -> String? {
        let mode = info.st_mode & 0o7777
        if info.st_uid != 0 { return "is owned by uid \(info.st_uid), not root" }
        let othersMayWrite = mode & 0o022 != 0
        let sticky = info.st_mode & S_IFMT == S_IFDIR && mode & 0o1000 != 0
        if othersMayWrite && (isTarget || !sticky) {
            return "is writable by its group or others (mode \(String(mode, radix: 8)))"
        }
        return nil
    }
}
