/// A path in the one spelling the helpers accept: absolute, at most PATH_MAX - 1 bytes, no
/// NUL, and made only of real names — no empty component (`//`), no `.`, no `..`, no
/// trailing slash, no component longer than NAME_MAX. Such paths are *refused*, never
/// normalised: normalising would give one file several accepted spellings, and the
/// declared set is compared byte for byte. Bytes need not be UTF-8; a name is whatever the
/// file system stores.
public struct CanonicalPath: Hashable, Sendable, CustomStringConvertible {
    /// PATH_MAX (4096) counts the terminating NUL.
    public static let maximumLength = 4095
    /// NAME_MAX.
    public static let maximumComponentLength = 255

    /// The path exactly as given.
    public let bytes: [UInt8]
    /// Its names, in order from the root; never empty.
    public let components: [[UInt8]]

    public init(validating bytes: [UInt8]) throws(PathRefusal) {
        if bytes.isEmpty { throw .empty }
        if let offset = bytes.firstIndex(of: 0) { throw .containsNUL(offset: offset) }
        if bytes.count > Self.maximumLength {
            throw .tooLong(length: bytes.count, limit: Self.maximumLength)
        }
        let slash = UInt8(ascii: "/")
        if bytes[0] != slash { throw .notAbsolute }
        if bytes.allSatisfy({ $0 == slash }) { throw .rootOnly }
        if bytes.last == slash { throw .trailingSlash }
        let names = bytes.dropFirst().split(separator: slash, omittingEmptySubsequences: false)
        var components: [[UInt8]] = []
        for (index, name) in names.enumerated() {
            if name.isEmpty { throw .emptyComponent(index: index) }
            if name.elementsEqual([UInt8(ascii: ".")]) { throw .dotComponent(index: index) }
            if name.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                throw .dotDotComponent(index: index)
            }
            if name.count > Self.maximumComponentLength {
                throw .componentTooLong(
                    index: index, length: name.count, limit: Self.maximumComponentLength)
            }
            components.append(Array(name))
        }
        self.bytes = bytes
        self.components = components
    }

    public init(validating text: String) throws(PathRefusal) {
        try self.init(validating: Array(text.utf8))
    }

    /// The path of the first `count` components, for naming where a walk stopped.
    func prefix(_ count: Int) -> [UInt8] {
        var result: [UInt8] = []
        for name in components.prefix(count) {
            result.append(UInt8(ascii: "/"))
            result += name
        }
        return result
    }

    public var description: String { ByteText.quoted(bytes) }
}

/// Why a path is not in canonical form (see `CanonicalPath`).
public enum PathRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case containsNUL(offset: Int)
    case tooLong(length: Int, limit: Int)
    case notAbsolute
    case rootOnly
    case trailingSlash
    /// Two slashes in a row; `index` counts components from the root, from 0.
    case emptyComponent(index: Int)
    case dotComponent(index: Int)
    case dotDotComponent(index: Int)
    case componentTooLong(index: Int, length: Int, limit: Int)

    public var description: String {
        switch self {
        case .empty: return "the path is empty"
        case .containsNUL(let offset): return "the path contains a NUL byte at offset \(offset)"
        case .tooLong(let length, let limit):
            return "the path is \(length) bytes long; the limit is \(limit) (PATH_MAX)"
        case .notAbsolute: return "the path is relative; only absolute paths are accepted"
        case .rootOnly: return "the path names the root directory, not a file"
        case .trailingSlash: return "the path ends with a slash; it must name a file"
        case .emptyComponent(let index):
            return "component \(index + 1) is empty (a double slash); paths are not normalised"
        case .dotComponent(let index):
            return "component \(index + 1) is \".\"; paths are not normalised"
        case .dotDotComponent(let index):
            return "component \(index + 1) is \"..\"; parent references are never accepted"
        case .componentTooLong(let index, let length, let limit):
            return "component \(index + 1) is \(length) bytes long; the limit is \(limit) (NAME_MAX)"
        }
    }
}
