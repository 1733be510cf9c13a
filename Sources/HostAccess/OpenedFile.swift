import SystemPackage

/// A declared file, opened and checked: the fd to hand over, and what was checked.
/// The caller owns `descriptor` and must close it once it has been sent. It is O_CLOEXEC
/// and carries O_NONBLOCK (part of the block profile's flag sets, so a FIFO swapped in
/// cannot block the helper); O_NONBLOCK has no effect on regular files or block devices.
public struct OpenedFile: Sendable {
    public let descriptor: FileDescriptor
    public let path: CanonicalPath
    public let access: FileAccess
    /// Bytes: st_size for a regular file; for a block device (whose st_size is 0) the size
    /// measured at declaration, since the block profile allows no lseek or ioctl.
    public let size: UInt64
    /// `.regularFile` or `.blockDevice`.
    public let type: FileType
    public let identity: FileIdentity
}
