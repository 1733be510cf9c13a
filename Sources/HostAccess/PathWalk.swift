import CHelper
import SystemPackage

/// Opens a canonical path one component at a time from "/", never following a symbolic
/// link: openat(dirfd, name, O_PATH|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC) for each directory,
/// then one openat of the last name with the flag set of `LastComponent`. A link anywhere
/// (including /proc's magic links) fails the walk with ENOTDIR or ELOOP; nothing is
/// resolved by the kernel behind the caller's back. Every intermediate fd is closed
/// whatever happens. The C call is `openat`, through `bh_open_at` (it is variadic).
public enum PathWalk {
    /// The flags for the last component; each is one allowed openat of a helper profile
    /// (`createWriteOnly`: the parent's, before it seals).
    public enum LastComponent {
        /// O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC
        case readOnly
        /// O_RDWR|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC
        case readWrite
        /// O_PATH|O_NOFOLLOW|O_CLOEXEC: only to fstat it (never blocks, opens no device)
        case identify
        /// O_WRONLY|O_CREAT|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC, 0644: the --console file
        case createWriteOnly

        var mode: bh_open_mode {
            switch self {
            case .readOnly: return BH_OPEN_READ_ONLY
            case .readWrite: return BH_OPEN_READ_WRITE
            case .identify: return BH_OPEN_IDENTIFY
            case .createWriteOnly: return BH_OPEN_CREATE_WRITE_ONLY
            }
        }
    }

    /// Where and why a walk stopped.
    public struct Failure: Error, Equatable {
        /// The path up to and including the component that failed.
        public let prefix: [UInt8]
        public let isLastComponent: Bool
        public let errno: Errno
        /// Why the caller's `inspect` refused the component (errno is then EPERM).
        public var problem: String? = nil

        /// The reason in words; ENOTDIR and ELOOP are what a link produces.
        public var reason: String {
            let at = ByteText.quoted(prefix)
            if let problem { return "\(at) \(problem)" }
            switch errno {
            case .noSuchFileOrDirectory: return "\(at) does not exist"
            case .notDirectory:
                return "\(at) is not a directory (a symbolic link is never followed)"
            case .tooManySymbolicLinkLevels:
                return "\(at) is a symbolic link; links are never followed"
            case .noSuchAddressOrDevice:
                return "\(at) is a socket or a device without a driver"
            case .isDirectory: return "\(at) is a directory"
            case .permissionDenied: return "\(at): permission denied"
            case .wouldBlock: return "\(at) would block"
            default: return "\(at): \(errno)"
            }
        }
    }

    /// What `inspect` sees of each component: the path up to it, and fstat of its fd.
    public typealias Inspection = (_ prefix: [UInt8], _ status: FileStatus) -> String?

    /// Walks `path`; with `inspect`, "/", each directory and the file are fstat'ed as they are
    /// opened, and a problem it names ends the walk (a Failure with that `problem`). What was
    /// inspected is what the walk went through: nothing can be swapped in between.
    public static func open(_ path: CanonicalPath, last: LastComponent, inspect: Inspection? = nil) throws(Failure)
        -> FileDescriptor
    {
        let root = [UInt8(ascii: "/")]
        var directory = try openAt(FileDescriptor(rawValue: bh_at_fdcwd()), root, BH_OPEN_WALK_DIRECTORY, prefix: root, isLast: false)
        defer { try? directory.close() }
        try check(directory, root, isLast: false, inspect)
        let count = path.components.count
        for index in 0..<(count - 1) {
            let next = try openAt(
                directory, path.components[index], BH_OPEN_WALK_DIRECTORY,
                prefix: path.prefix(index + 1), isLast: false)
            try? directory.close()
            directory = next
            try check(directory, path.prefix(index + 1), isLast: false, inspect)
        }
        let file = try openAt(directory, path.components[count - 1], last.mode, prefix: path.bytes, isLast: true)
        do { try check(file, path.bytes, isLast: true, inspect) } catch {
            try? file.close()
            throw error
        }
        return file
    }

    private static func check(_ fd: FileDescriptor, _ prefix: [UInt8], isLast: Bool, _ inspect: Inspection?) throws(Failure) {
        guard let inspect else { return }
        let status: FileStatus
        do { status = try FileStatus.of(fd) } catch { throw Failure(prefix: prefix, isLastComponent: isLast, errno: error) }
        if let problem = inspect(prefix, status) {
            throw Failure(prefix: prefix, isLastComponent: isLast, errno: .notPermitted, problem: problem)
        }
    }

    /// The O_PATH fd of the directory that holds `path`'s last component ("/" for a path of
    /// one component), walked from "/" as `open` walks; the caller closes it. The block
    /// helper holds it (HeldDirectory) and opens the last name from it with `openLast`.
    static func openParent(of path: CanonicalPath) throws(Failure) -> FileDescriptor {
        let root = [UInt8(ascii: "/")]
        var directory = try openAt(FileDescriptor(rawValue: bh_at_fdcwd()), root, BH_OPEN_WALK_DIRECTORY, prefix: root, isLast: false)
        for index in 0..<(path.components.count - 1) {
            let next: FileDescriptor
            do throws(Failure) {
                next = try openAt(
                    directory, path.components[index], BH_OPEN_WALK_DIRECTORY, prefix: path.prefix(index + 1), isLast: false)
            } catch {
                try? directory.close()
                throw error
            }
            try? directory.close()
            directory = next
        }
        return directory
    }

    /// `path`'s last component opened from `directory` (its parent, from `openParent`): one
    /// openat, with `last`'s flags.
    static func openLast(of path: CanonicalPath, in directory: FileDescriptor, _ last: LastComponent) throws(Failure)
        -> FileDescriptor
    {
        try openAt(directory, path.components[path.components.count - 1], last.mode, prefix: path.bytes, isLast: true)
    }

    private static func openAt(
        _ directory: FileDescriptor, _ name: [UInt8], _ mode: bh_open_mode, prefix: [UInt8], isLast: Bool
    ) throws(Failure) -> FileDescriptor {
        // `name` has no NUL (CanonicalPath), so the C string is exactly the name.
        let result = (name + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                bh_open_at(directory.rawValue, chars.baseAddress, Int32(mode.rawValue))
            }
        }
        if result < 0 {
            throw Failure(prefix: prefix, isLastComponent: isLast, errno: Errno(rawValue: -result))
        }
        return FileDescriptor(rawValue: result)
    }
}
