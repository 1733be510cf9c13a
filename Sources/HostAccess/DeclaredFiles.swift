import CHelper
import SystemPackage

/// The block helper's whole capability: the (path, access) set the parent declared at
/// start-up, and a race-safe `open` of exactly those files.
///
/// At declaration (before confinement) each path is validated as a `CanonicalPath` and its
/// directories walked component by component from "/" without following links
/// (`PathWalk.openParent`); the O_PATH fd of the file's own directory is kept
/// (`HeldDirectory`, with its device, inode, owner and mode). The last name is opened from
/// it O_PATH (nothing blocks, no device is opened) and the file's device, inode and type
/// recorded. Only regular files and block devices are accepted, and none on a kernel
/// interface (`KernelFileSystem`: proc, sysfs, …).
///
/// `open` (confined) accepts only a declared path, byte for byte, with an access the
/// declaration allows; opens its last component from the held directory with the exact
/// flags of the block profile (one openat: a link there is refused), fstat()s the result
/// and hands it out only if device, inode and type are the recorded ones. The directories
/// are not walked again: a rename or a link swapped into a middle component after start-up
/// changes nothing (HeldDirectory). Anything else closes what it opened and throws a
/// `FileRefusal` that says why.
public struct DeclaredFiles: Sendable {
    /// A bound on what a start-up command line may declare.
    public static let maximumDeclarations = 64

    public let files: [DeclaredFile]
    private let indexByPath: [[UInt8]: Int]

    public init(_ declarations: [FileDeclaration]) throws(FileRefusal) {
        if declarations.count > Self.maximumDeclarations {
            throw .tooManyDeclarations(count: declarations.count, limit: Self.maximumDeclarations)
        }
        var files: [DeclaredFile] = []
        var indexByPath: [[UInt8]: Int] = [:]
        var directories: [HeldDirectory] = []
        for declaration in declarations {
            let path: CanonicalPath
            do { path = try CanonicalPath(validating: declaration.path) } catch {
                throw .invalidPath(path: declaration.path, reason: error)
            }
            if indexByPath[path.bytes] != nil { throw .declaredTwice(path: path) }
            let directory = try Self.hold(directoryOf: path, sharing: &directories)
            let file = try Self.record(path, access: declaration.access, in: directory)
            if let other = files.first(where: { $0.identity == file.identity }) {
                throw .sameFileAs(path: path, other: other.path)
            }
            indexByPath[path.bytes] = files.count
            files.append(file)
        }
        self.files = files
        self.indexByPath = indexByPath
    }

    /// Opens a declared file: the C calls are one openat (the last component, from the held
    /// directory) and fstat. The returned descriptor is the caller's to close.
    public func open(path bytes: [UInt8], access: FileAccess) throws(FileRefusal) -> OpenedFile {
        let path: CanonicalPath
        do { path = try CanonicalPath(validating: bytes) } catch {
            throw .invalidPath(path: bytes, reason: error)
        }
        guard let index = indexByPath[path.bytes] else { throw .notDeclared(path: path) }
        let declared = files[index]
        if !declared.access.allows(access) { throw .readWriteNotDeclared(path: path) }

        let descriptor = try Self.openLast(path, in: declared.directory, access == .readOnly ? .readOnly : .readWrite)
        do throws(FileRefusal) {
            let status = try Self.status(of: descriptor, path: path)
            if status.identity != declared.identity {
                throw FileRefusal.changedSinceDeclaration(
                    path: path, declared: declared.identity, found: status.identity)
            }
            let size = declared.blockDeviceSize ?? UInt64(max(status.size, 0))
            return OpenedFile(
                descriptor: descriptor, path: path, access: access, size: size,
                type: status.identity.type, identity: status.identity)
        } catch {
            try? descriptor.close()
            throw error
        }
    }

    public func open(path: String, access: FileAccess) throws(FileRefusal) -> OpenedFile {
        try open(path: Array(path.utf8), access: access)
    }

    /// The declared entry for `path`, if any.
    public func declaration(of path: CanonicalPath) -> DeclaredFile? {
        indexByPath[path.bytes].map { files[$0] }
    }

    /// The walked directory of `path`, or the one already held for another declaration when
    /// it is the same directory (device and inode): one fd per directory.
    private static func hold(directoryOf path: CanonicalPath, sharing held: inout [HeldDirectory]) throws(FileRefusal)
        -> HeldDirectory
    {
        let descriptor: FileDescriptor
        do { descriptor = try PathWalk.openParent(of: path) } catch {
            throw .walkFailed(path: path, at: error.prefix, lastComponent: false, errno: error.errno)
        }
        let status: FileStatus
        do { status = try Self.status(of: descriptor, path: path) } catch {
            try? descriptor.close()
            throw error
        }
        if let same = held.first(where: { $0.identity == status.identity }) {
            try? descriptor.close()
            return same
        }
        let directory = HeldDirectory(descriptor: descriptor, status: status)
        held.append(directory)
        return directory
    }

    private static func record(_ path: CanonicalPath, access: FileAccess, in directory: HeldDirectory) throws(FileRefusal)
        -> DeclaredFile
    {
        let identifying = try openLast(path, in: directory, .identify)
        defer { try? identifying.close() }
        let identity = try status(of: identifying, path: path).identity
        // A file of a served type is refused for where it is (a link, for what it is, below).
        // The device is part of the recorded identity, so the file system cannot change later.
        if identity.type == .regularFile || identity.type == .blockDevice, let fileSystem = KernelFileSystem.name(of: identifying) {
            throw .kernelInterface(path: path, fileSystem: fileSystem)
        }
        switch identity.type {
        case .regularFile:
            return DeclaredFile(path: path, access: access, identity: identity, blockDeviceSize: nil, directory: directory)
        case .blockDevice:
            // O_PATH fds cannot seek; open the device itself (read-only, non-blocking) once.
            let device = try openLast(path, in: directory, .readOnly)
            defer { try? device.close() }
            let opened = try status(of: device, path: path).identity
            if opened != identity {
                throw .changedSinceDeclaration(path: path, declared: identity, found: opened)
            }
            let size = bh_size_by_seek(device.rawValue)
            if size < 0 { throw .statusFailed(path: path, errno: Errno(rawValue: Int32(-size))) }
            return DeclaredFile(
                path: path, access: access, identity: identity, blockDeviceSize: UInt64(size), directory: directory)
        default:
            throw .unsupportedType(path: path, type: identity.type)
        }
    }

    private static func openLast(_ path: CanonicalPath, in directory: HeldDirectory, _ last: PathWalk.LastComponent)
        throws(FileRefusal) -> FileDescriptor
    {
        do { return try PathWalk.openLast(of: path, in: directory.descriptor, last) } catch {
            throw .walkFailed(
                path: path, at: error.prefix, lastComponent: error.isLastComponent, errno: error.errno)
        }
    }

    private static func status(of descriptor: FileDescriptor, path: CanonicalPath) throws(FileRefusal)
        -> FileStatus
    {
        do { return try FileStatus.of(descriptor) } catch { throw .statusFailed(path: path, errno: error) }
    }
}
