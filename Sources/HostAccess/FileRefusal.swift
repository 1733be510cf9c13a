import SystemPackage

/// Why the block helper refused to declare or open a file. Every case names the path and
/// says what was wrong, in words fit for the operator's log (`description`).
public enum FileRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// The path is not in canonical form (see `CanonicalPath`).
    case invalidPath(path: [UInt8], reason: PathRefusal)
    /// The path is canonical but not one of the declared paths, byte for byte.
    case notDeclared(path: CanonicalPath)
    /// The path was declared read-only and read-write was asked.
    case readWriteNotDeclared(path: CanonicalPath)
    /// The same path appears twice in the declaration.
    case declaredTwice(path: CanonicalPath)
    /// Two declared paths name the same file (hard links), which would hand one file out
    /// as two disks.
    case sameFileAs(path: CanonicalPath, other: CanonicalPath)
    case tooManyDeclarations(count: Int, limit: Int)
    /// The component-by-component walk stopped: a link, a missing name, a socket…
    case walkFailed(path: CanonicalPath, at: [UInt8], lastComponent: Bool, errno: Errno)
    /// Only regular files and block devices are served.
    case unsupportedType(path: CanonicalPath, type: FileType)
    /// The file is on proc, sysfs or another kernel interface (`KernelFileSystem`).
    case kernelInterface(path: CanonicalPath, fileSystem: String)
    /// The opened file is not the one recorded at declaration (renamed over, re-linked, or
    /// replaced in its held directory).
    case changedSinceDeclaration(path: CanonicalPath, declared: FileIdentity, found: FileIdentity)
    /// fstat or lseek on the opened fd failed.
    case statusFailed(path: CanonicalPath, errno: Errno)

    public var description: String {
        switch self {
        case .invalidPath(let path, let reason):
            return "refused path \(ByteText.quoted(path)): \(reason)"
        case .notDeclared(let path):
            return "refused \(path): not a declared path (declared paths are compared byte for byte)"
        case .readWriteNotDeclared(let path):
            return "refused \(path) read-write: it is declared read-only"
        case .declaredTwice(let path):
            return "refused declaration of \(path): the path is declared twice"
        case .sameFileAs(let path, let other):
            return "refused declaration of \(path): it is the same file as \(other)"
        case .tooManyDeclarations(let count, let limit):
            return "refused declaration: \(count) files, the limit is \(limit)"
        case .walkFailed(let path, let at, let last, let errno):
            let failure = PathWalk.Failure(prefix: at, isLastComponent: last, errno: errno)
            return "refused \(path): \(failure.reason)"
        case .unsupportedType(let path, let type):
            return "refused \(path): it is \(type); only regular files and block devices are served"
        case .kernelInterface(let path, let fileSystem):
            return "refused \(path): it is on \(fileSystem), a kernel interface, not storage"
        case .changedSinceDeclaration(let path, let declared, let found):
            return "refused \(path): it is no longer the declared file (declared \(declared), found \(found))"
        case .statusFailed(let path, let errno):
            return "refused \(path): fstat failed: \(errno)"
        }
    }
}
