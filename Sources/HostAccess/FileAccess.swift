/// How a declared file may be opened. A read-write declaration also allows a read-only open.
public enum FileAccess: String, Equatable, Sendable, CustomStringConvertible {
    case readOnly = "ro"
    case readWrite = "rw"

    /// Whether a file declared with this access may be opened with `requested`.
    public func allows(_ requested: FileAccess) -> Bool {
        self == .readWrite || requested == .readOnly
    }

    public var description: String { self == .readOnly ? "read-only" : "read-write" }
}

/// One line of the block helper's start-up declaration: a path and how it may be opened.
public struct FileDeclaration: Equatable, Sendable {
    public let path: [UInt8]
    public let access: FileAccess

    public init(path: [UInt8], access: FileAccess) {
        self.path = path
        self.access = access
    }

    public init(path: String, access: FileAccess) {
        self.init(path: Array(path.utf8), access: access)
    }
}
