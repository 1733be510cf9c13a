/// One declared file as recorded at start-up, before confinement.
public struct DeclaredFile: Equatable, Sendable {
    public let path: CanonicalPath
    public let access: FileAccess
    /// Device, inode and type found by the declaration walk; every open must match it.
    public let identity: FileIdentity
    /// For a block device, its size at declaration (lseek to the end); nil for a file.
    public let blockDeviceSize: UInt64?
    /// The directory the file is opened from (its last component only) for every request.
    public let directory: HeldDirectory
}
