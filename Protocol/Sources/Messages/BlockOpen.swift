/// Read-only or read-write, as declared for a block path (catalog cases `ro|rw`).
public enum BlockAccess: Int, CaseIterable, Sendable, CustomStringConvertible {
    case readOnly = 0
    case readWrite = 1
    public var description: String { CommandCatalog.accessCases[rawValue] }
}

/// What `block.open` opened (catalog cases `file|blockdev`).
public enum BlockFileKind: Int, CaseIterable, Sendable, CustomStringConvertible {
    case file = 0
    case blockDevice = 1
    public var description: String { CommandCatalog.fileKindCases[rawValue] }
}

/// `block.open`: a path (raw bytes; the block helper judges them) and the access wanted.
public struct BlockOpenRequest: RequestMessage, Equatable {
    public typealias Reply = BlockOpenReply
    public static let command = CommandCatalog.blockOpen
    public var path: [UInt8]
    public var access: BlockAccess

    public init(path: [UInt8], access: BlockAccess) {
        self.path = path
        self.access = access
    }

    public init(path: String, access: BlockAccess) { self.init(path: Array(path.utf8), access: access) }

    public func encode(into w: inout BodyWriter) {
        w.bytes(path)
        w.enumeration(access.rawValue)
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        path = try r.bytes("path")
        access = BlockAccess(rawValue: try r.enumeration("access", cases: CommandCatalog.accessCases))!
    }
}

/// `block.open` reply; the opened fd travels in SCM_RIGHTS beside it.
public struct BlockOpenReply: BodyCodable, Equatable {
    public var size: UInt64
    public var access: BlockAccess
    public var kind: BlockFileKind

    public init(size: UInt64, access: BlockAccess, kind: BlockFileKind) {
        self.size = size
        self.access = access
        self.kind = kind
    }

    public func encode(into w: inout BodyWriter) {
        w.u64(size)
        w.enumeration(access.rawValue)
        w.enumeration(kind.rawValue)
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        size = try r.u64("size")
        access = BlockAccess(rawValue: try r.enumeration("access", cases: CommandCatalog.accessCases))!
        kind = BlockFileKind(rawValue: try r.enumeration("kind", cases: CommandCatalog.fileKindCases))!
    }
}
