import SystemPackage

/// The directory holding one or more declared files, as the start-up walk found it: its
/// O_PATH fd (`PathWalk.openParent`), held for the block helper's life, and what fstat said
/// of it then. Every later open walks only the file's last component from this fd, so a
/// directory on the way renamed or replaced, or a link swapped into a middle component after
/// start-up, redirects nothing: the fd names the directory the walk checked, wherever it is
/// now. Tricks on the last component are still refused by that one openat (O_NOFOLLOW) and by
/// the file's recorded identity. Declared files in the same directory share one; the fd is
/// closed when the last declaration holding it goes.
public final class HeldDirectory: Equatable, Sendable {
    let descriptor: FileDescriptor
    /// Device and inode (and type: always a directory) at start-up.
    public let identity: FileIdentity
    /// Owner uid and permission bits at start-up, for the log and `status`; the open
    /// requests do not look at them again (the fd cannot be redirected by a chmod or chown).
    public let owner: UInt32
    public let mode: UInt32

    init(descriptor: FileDescriptor, status: FileStatus) {
        self.descriptor = descriptor
        identity = status.identity
        owner = status.owner
        mode = status.mode & 0o7777
    }

    deinit { try? descriptor.close() }

    public static func == (left: HeldDirectory, right: HeldDirectory) -> Bool {
        left.identity == right.identity && left.owner == right.owner && left.mode == right.mode
    }
}
