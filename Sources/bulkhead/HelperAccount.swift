import Glibc
import RunSpecs
import Vocabulary

/// The `--user` account the helpers become when `bulkhead run` starts as root (DESIGN.md §7):
/// its uid and primary gid, and no supplementary groups.
struct HelperAccount {
    let name: String
    let uid: uid_t
    let gid: gid_t

    /// getpwnam(3); a missing account or root is a configuration error.
    init(named name: String) throws {
        guard let account = getpwnam(name) else {
            throw ConfigurationError(
                "--user \(name)",
                "no such user (create it: useradd --system --no-create-home --shell /usr/sbin/nologin \(name))")
        }
        (uid, gid) = (account.pointee.pw_uid, account.pointee.pw_gid)
        guard uid != 0, gid != 0 else { throw ConfigurationError("--user \(name)", "is root") }
        self.name = name
    }

    /// The primary group's name (getgrgid(3)), or its number.
    var groupName: String { getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? "\(gid)" }

    /// `bulkhead (uid 999, gid 995, no supplementary groups)`.
    var described: String { "\(name) (uid \(uid), gid \(gid), no supplementary groups)" }
}
