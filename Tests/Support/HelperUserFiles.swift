import Foundation

/// Files a test declares to `bulkhead run`, made openable by the block helper. Started as
/// root, the parent runs the helpers as the `--user` account (default `bulkhead`) with no
/// capability and no supplementary groups, and refuses (exit 65) a declared file that account
/// cannot reach by owner, group and mode (README "Security model").
public enum HelperUserFiles {
    /// The account the helpers run as by default (created by `make deps`).
    public static let user = "bulkhead"

    /// The helper account's uid and gid, nil when it does not exist.
    public static var account: (uid: uid_t, gid: gid_t)? {
        guard let entry = getpwnam(user) else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// Creates (or replaces) `path` with `contents` and gives it to the helper account: owner
    /// and group `bulkhead`, mode 0600, so it is readable and writable by the helper and by no
    /// one else but root. Its directory must be searchable by others (/tmp is).
    /// Written through an O_CLOEXEC fd (FixtureFile).
    @discardableResult
    public static func create(_ path: String, contents: Data) throws -> String {
        try FixtureFile.write(path, contents, mode: 0o600)
        grant(path)
        return path
    }

    /// chown `path` to the helper account (as root; elsewhere the helpers keep the test's uid).
    public static func grant(_ path: String) {
        guard geteuid() == 0, let account else { return }
        _ = chown(path, account.uid, account.gid)
    }

    /// A path to `path`'s file that the helper account can reach: a hard link (or, across
    /// filesystems, a copy) in /tmp, for a file kept where the account cannot search, such as
    /// the kernel cached under /root (mode 0700). The caller removes it; the file's own mode
    /// must let others read it.
    public static func reachableLink(to path: String, name: String) throws -> String {
        let link = "/tmp/bulkhead-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
        if Glibc.link(path, link) != 0 {
            try FixtureFile.copy(path, to: link)
        }
        return link
    }
}
