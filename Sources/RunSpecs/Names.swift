/// The names an operator gives on the command line, each `[A-Za-z0-9_.-]` with its own bounds.
public enum Names {
    /// Linux interface names: 1...15 bytes (IFNAMSIZ - 1), not `.` or `..`.
    public static func isValidTapName(_ name: String) -> Bool {
        (1...15).contains(name.utf8.count) && name != "." && name != ".." && name.utf8.allSatisfy(isNameByte)
    }

    public static func isValidHookName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy(isNameByte)
    }

    /// A VM's name in the registry: 1...64 bytes, not starting with `.` (a leading dot is
    /// the registry's own: `.claim-PID`, `.uid-UID`), so never `.` or `..` either.
    public static func isValidVMName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.first != "." && name.utf8.allSatisfy(isNameByte)
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2E || b == 0x2D
    }
}
