import CHelper
import SystemPackage

/// The type of a file as fstat reports it (the S_IFMT bits of st_mode).
public enum FileType: Equatable, Sendable, CustomStringConvertible {
    case regularFile, blockDevice, directory, characterDevice, fifo, socket, symbolicLink
    case unknown(mode: UInt32)

    init(mode: UInt32) {
        switch mode & 0o170000 {
        case 0o100000: self = .regularFile
        case 0o060000: self = .blockDevice
        case 0o040000: self = .directory
        case 0o020000: self = .characterDevice
        case 0o010000: self = .fifo
        case 0o140000: self = .socket
        case 0o120000: self = .symbolicLink
        default: self = .unknown(mode: mode)
        }
    }

    public var description: String {
        switch self {
        case .regularFile: return "a regular file"
        case .blockDevice: return "a block device"
        case .directory: return "a directory"
        case .characterDevice: return "a character device"
        case .fifo: return "a FIFO"
        case .socket: return "a unix socket"
        case .symbolicLink: return "a symbolic link"
        case .unknown(let mode): return "a file of unknown type (mode \(String(mode, radix: 8)))"
        }
    }
}

/// Which file a path named when it was checked: compared after every open, so a file
/// renamed over, re-linked or swapped for another type since then is refused.
public struct FileIdentity: Equatable, Sendable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64
    public let type: FileType

    public var description: String { "\(type) (device \(device), inode \(inode))" }
}

/// What fstat says about an open fd.
public struct FileStatus: Sendable {
    public let identity: FileIdentity
    public let mode: UInt32
    public let owner: UInt32
    public let size: Int64
    /// st_rdev: the device a block or character device file stands for.
    public let rawDevice: UInt64

    /// fstat(fd) through `bh_file_status_of` (newfstatat(fd, "", AT_EMPTY_PATH) in glibc).
    public static func of(_ descriptor: FileDescriptor) throws(Errno) -> FileStatus {
        var raw = bh_file_status()
        let result = bh_file_status_of(descriptor.rawValue, &raw)
        if result < 0 { throw Errno(rawValue: -result) }
        return FileStatus(
            identity: FileIdentity(device: raw.device, inode: raw.inode, type: FileType(mode: raw.mode)),
            mode: raw.mode, owner: raw.uid, size: raw.size, rawDevice: raw.raw_device)
    }
}
