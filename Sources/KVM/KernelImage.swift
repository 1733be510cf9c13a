import Glibc
import SystemPackage

/// Bytes of a kernel or initrd file, read at offsets. The worker reads from fds the block
/// helper handed over (it never opens a path); tests read from arrays of hostile bytes.
public protocol KernelImage {
    var size: UInt64 { get }
    /// Fills `buffer` from `offset`; throws when the image is shorter.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws
}

extension KernelImage {
    func bytes(at offset: UInt64, count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        try result.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        return result
    }
}

/// A kernel image in memory.
public struct KernelBytes: KernelImage {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var size: UInt64 { UInt64(bytes.count) }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        guard offset <= size, UInt64(buffer.count) <= size - offset else {
            throw LinuxBootError.truncated("\(buffer.count) bytes at \(offset) of a \(size)-byte image")
        }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[Int(offset)..<Int(offset) + buffer.count]))
        }
    }
}

/// A kernel image behind an fd: fstat for its size, pread for its bytes.
public struct KernelFile: KernelImage {
    public let fd: FileDescriptor
    public let size: UInt64

    /// fstat(fd): the size of a regular file.
    public init(fd: FileDescriptor) throws {
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else { throw KVMError.system(call: "fstat(kernel)", errno: .current) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw LinuxBootError.notAKernel("not a regular file") }
        self.fd = fd
        size = UInt64(st.st_size)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        guard offset <= size, UInt64(buffer.count) <= size - offset else {
            throw LinuxBootError.truncated("\(buffer.count) bytes at \(offset) of a \(size)-byte file")
        }
        var done = 0
        while done < buffer.count {
            let n = pread(fd.rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                if n == 0 { throw LinuxBootError.truncated("file ended at \(offset + UInt64(done))") }
                throw KVMError.system(call: "pread(kernel)", errno: .current)
            }
            done += n
        }
    }
}
