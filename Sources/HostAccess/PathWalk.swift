import CShim
import SystemPackage

/// Opens a canonical path one component at a time from "/", never following a symbolic
/// link: openat(dirfd, name, O_PATH|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC) for each directory,
/// then one openat of the last name with the flag set of `LastComponent`. A link anywhere
/// (including /proc's magic links) fails the walk with ENOTDIR or ELOOP; nothing is
/// resolved by the kernel behind the caller's back. Every intermediate fd is closed
/// whatever happens. The C call is `openat`, through `bh_open_at` (it is variadic).
enum PathWalk {
    /// The flags for the last component; each is one allowed openat of a helper profile.
    enum LastComponent {
        /// O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC
        case readOnly
        /// O_RDWR|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC
        case readWrite
        /// O_PATH|O_NOFOLLOW|O_CLOEXEC: only to fstat it (never blocks, opens no device)
        case identify

        var mode: bh_open_mode {
            switch self {
            case .readOnly: return BH_OPEN_READ_ONLY
            case .readWrite: return BH_OPEN_READ_WRITE
            case .identify: return BH_OPEN_IDENTIFY
            }
        }
    }

    /// Where and why a walk stopped.
    struct Failure: Error, Equatable {
        /// The path up to and including the component that failed.
        let prefix: [UInt8]
        let isLastComponent: Bool
        let errno: Errno

        /// The reason in words; ENOTDIR and ELOOP are what a link produces.
        var reason: String {
            let at = ByteText.quoted(prefix)
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

    static func open(_ path: CanonicalPath, last: LastComponent) throws(Failure) -> FileDescriptor {
        var directory = try openAt(
            FileDescriptor(rawValue: bh_at_fdcwd()), [UInt8(ascii: "/")], BH_OPEN_WALK_DIRECTORY, prefix: [UInt8(ascii: "/")],
            isLast: false)
        defer { try? directory.close() }
        let count = path.components.count
        for index in 0..<(count - 1) {
            let next = try openAt(
                directory, path.components[index], BH_OPEN_WALK_DIRECTORY,
                prefix: path.prefix(index + 1), isLast: false)
            try? directory.close()
            directory = next
        }
        return try openAt(
            directory, path.components[count - 1], last.mode, prefix: path.bytes, isLast: true)
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
