import CParent
import Glibc
import RunSpecs
import Vocabulary

/// Before anything starts, as root: may the block helper's user open each declared file?
/// The block helper holds no capability (DESIGN.md §7): once it is the `--user` account it
/// opens the kernel, initrd and disks with that account's rights alone, so a file it cannot
/// reach would otherwise fail only after the VM had started. This evaluates the kernel's
/// discretionary check from stat(2) owner, group and mode bits, for every directory on the
/// path (search) and the file (read; read and write for a read-write disk), as the kernel
/// does: the owner's bits if the account owns it, else the group's if the account's primary
/// gid is its group (the helper has no supplementary groups), else the others'.
///
/// POSIX ACLs are not evaluated: a refused path that carries one says so (grant access through
/// owner, group and mode instead); an ACL that refuses what the mode bits allow is found at
/// start-up by the helper itself: its open fails with EACCES and the run ends (exit 70).
enum HelperUserAccess {
    struct Permission: OptionSet {
        let rawValue: mode_t
        static let read = Permission(rawValue: 4)
        static let write = Permission(rawValue: 2)
        static let search = Permission(rawValue: 1)

        var words: String {
            var parts: [String] = []
            if contains(.read) { parts.append("read") }
            if contains(.write) { parts.append("write") }
            if contains(.search) { parts.append("search") }
            return parts.isEmpty ? "nothing" : parts.joined(separator: " and ")
        }

        var letters: String { (contains(.read) ? "r" : "") + (contains(.write) ? "w" : "") + (contains(.search) ? "x" : "") }
    }

    /// The class of the mode bits that apply to an account.
    enum ModeClass: String {
        case owner = "u", group = "g", other = "o"
    }

    /// Throws a ConfigurationError (exit 65) for the first path component or file `account`
    /// may not use as declared, naming it, the account, the missing permission and the fix.
    static func check(_ files: [RunConfiguration.BlockFile], for account: HelperAccount) throws {
        for file in files {
            var directories = ["/"]
            var prefix = ""
            for component in file.path.split(separator: "/").dropLast() {
                prefix += "/" + component
                directories.append(prefix)
            }
            for directory in directories { try require(.search, on: directory, isDirectory: true, file, account) }
            try require(file.readWrite ? [.read, .write] : .read, on: file.path, isDirectory: false, file, account)
        }
    }

    private static func require(
        _ needed: Permission, on path: String, isDirectory: Bool, _ file: RunConfiguration.BlockFile, _ account: HelperAccount
    ) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ConfigurationError(file.flag, "cannot check \(path) for the block helper's user: \(String(cString: strerror(errno)))")
        }
        let (modeClass, granted) = grant(info, to: account)
        let missing = Permission(rawValue: needed.rawValue & ~granted.rawValue)
        guard !missing.isEmpty else { return }

        let what = isDirectory ? "directory \(path)" : "the file"
        let purpose = isDirectory ? "" : file.readWrite ? "; read-write needs read and write" : "; read-only needs read"
        var reason =
            "the block helper runs as \(account.described) and lacks \(missing.words) permission on \(what)"
            + " (mode \(octal(info.st_mode)), owner \(userName(info.st_uid)), group \(groupName(info.st_gid))\(purpose)); fix: "
        switch modeClass {
        case .owner, .group:
            reason += "chmod \(modeClass.rawValue)+\(needed.letters) \(path)"
        case .other:
            reason += "chgrp \(account.groupName) \(path) && chmod g+\(needed.letters) \(path)"
            if isDirectory { reason += " (or chmod o+x \(path))" } else { reason += " (or chown \(account.name) \(path))" }
        }
        if !isDirectory && file.readWrite && !missing.contains(.read) { reason += ", declare it ,readonly" }
        reason += ", or run with --user set to an account that may"
        if hasAccessACL(path) {
            reason += "; \(path) carries a POSIX ACL, which this check does not evaluate: grant access through owner, group and mode"
        }
        throw ConfigurationError(file.flag, reason)
    }

    /// The mode class that applies to `account` and the permissions it grants.
    private static func grant(_ info: stat, to account: HelperAccount) -> (ModeClass, Permission) {
        if info.st_uid == account.uid { return (.owner, Permission(rawValue: (info.st_mode >> 6) & 7)) }
        if info.st_gid == account.gid { return (.group, Permission(rawValue: (info.st_mode >> 3) & 7)) }
        return (.other, Permission(rawValue: info.st_mode & 7))
    }

    private static func octal(_ mode: mode_t) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func userName(_ uid: uid_t) -> String { getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "\(uid)" }
    private static func groupName(_ gid: gid_t) -> String { getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? "\(gid)" }

    /// Whether `path` has an access ACL (the system.posix_acl_access extended attribute).
    private static func hasAccessACL(_ path: String) -> Bool { bh_has_access_acl(path) == 1 }
}
