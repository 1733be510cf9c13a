/// The names an operator gives on the command line, each `[A-Za-z0-9_.-]` with its own
/// bounds: the one rule `bulkhead run`, the helpers (HostAccess.TapName, DeclaredHooks) and
/// `bulkhead units` check. That excludes `/`, whitespace, `:` and `%` (which the kernel would
/// treat as an interface name template such as `tap%d`), so a valid name is also a safe
/// single component of a path.
public enum Names {
    /// Linux interface names: IFNAMSIZ (16) counts the terminating NUL.
    public static let tapNameLength = 1...15
    public static let hookNameLength = 1...64

    /// Linux interface names: 1...15 bytes (IFNAMSIZ - 1), not `.` or `..`.
    public static func isValidTapName(_ name: String) -> Bool {
        tapNameLength.contains(name.utf8.count) && name != "." && name != ".." && name.utf8.allSatisfy(isNameByte)
    }

    public static func isValidHookName(_ name: String) -> Bool {
        hookNameLength.contains(name.utf8.count) && name.utf8.allSatisfy(isNameByte)
    }

    /// A VM's name in the registry: 1...64 bytes, not starting with `.` (a leading dot is
    /// the registry's own: `.claim-PID`, `.uid-UID`), so never `.` or `..` either.
    public static func isValidVMName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.first != "." && name.utf8.allSatisfy(isNameByte)
    }

    /// `A-Z a-z 0-9 _ . -`.
    public static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2E || b == 0x2D
    }
}
