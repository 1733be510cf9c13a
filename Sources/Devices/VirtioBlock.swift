import Glibc
import KVM
import Synchronization
import SystemPackage

/// virtio-blk (virtio 1.2 §5.2) on a disk fd the block helper opened: read, write, flush
/// and get-id. Data moves with one preadv/pwritev per request whose iovecs point straight
/// at the descriptors' guest buffers: no bounce buffer. Read-only disks are refused twice,
/// by VIRTIO_BLK_F_RO with writes answered VIRTIO_BLK_S_IOERR, and by the fd (O_RDONLY).
public final class VirtioBlock: VirtioDevice, @unchecked Sendable {
    // Sendable: only the transport calls in, under its lock.
    public static let featureReadOnly: UInt64 = 1 << 5
    public static let featureFlush: UInt64 = 1 << 9
    public static let sectorSize = 512
    public static let queueSize: UInt16 = 256

    enum RequestType: UInt32 { case read = 0, write = 1, flush = 4, getID = 8 }
    public enum Status: UInt8 { case ok = 0, ioError = 1, unsupported = 2 }

    public let fd: FileDescriptor
    public let readOnly: Bool
    /// Capacity in 512-byte sectors; a tail shorter than a sector is not reachable.
    public let sectors: UInt64
    /// The 20-byte serial GET_ID answers (`bulkhead-diskN`).
    public let serial: [UInt8]
    /// Requests, data bytes read or written, and requests answered with an error.
    public let counters = DeviceCounters()

    public let deviceID: UInt32 = 2
    public var deviceFeatures: UInt64 { Self.featureFlush | (readOnly ? Self.featureReadOnly : 0) }
    public var queueSizes: [UInt16] { [Self.queueSize] }
    /// struct virtio_blk_config: capacity (le64) only; no optional fields are offered.
    public var configuration: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: sectors >> (8 * $0)) } }

    /// `byteCount` is the disk's size, measured by the caller before the filters load
    /// (lseek SEEK_END works for files and block devices alike).
    public init(fd: FileDescriptor, byteCount: UInt64, readOnly: Bool, serial: String) {
        self.fd = fd
        self.readOnly = readOnly
        self.sectors = byteCount / UInt64(Self.sectorSize)
        self.serial = Array(serial.utf8.prefix(20))
    }

    public func reset() {}

    public func process(queue index: Int, _ queue: inout Virtqueue, memory: GuestMemory, features: UInt64) throws(VirtioError) -> Bool {
        var any = false
        let indirect = features & VirtioMMIO.featureIndirect != 0
        while let chain = try queue.nextChain(memory: memory, indirect: indirect) {
            let written = try serve(chain)
            queue.addUsed(head: chain.head, length: written)
            any = true
        }
        return any
    }

    /// One request (§5.2.6): a 16-byte header in readable bytes, data, and the status byte
    /// as the last writable byte. Framing is free (no assumption where buffers split).
    /// Returns the bytes written into guest buffers, status included.
    func serve(_ chain: DescriptorChain) throws(VirtioError) -> UInt32 {
        guard chain.writableLength >= 1 else { throw .noStatusByte }
        let statusOffset = chain.writableLength - 1
        var moved = 0
        func answer(_ status: Status, dataWritten: Int = 0) -> UInt32 {
            counters.count(bytes: status == .ok ? moved : 0, failed: status != .ok)
            chain.writeWritable([status.rawValue], offset: statusOffset)
            return UInt32(truncatingIfNeeded: dataWritten + 1)
        }
        guard chain.readableLength >= 16 else { return answer(.ioError) }
        let header = chain.readReadable(offset: 0, count: 16)
        func word(_ at: Int, _ count: Int) -> UInt64 {
            (0..<count).reduce(0) { $0 | UInt64(header[at + $1]) << (8 * UInt64($1)) }
        }
        let readableData = chain.readableLength - 16
        let writableData = statusOffset
        let sector = word(8, 8)

        switch RequestType(rawValue: UInt32(word(0, 4))) {
        case .read:
            // The data must be device-writable: a readable buffer is never written.
            guard readableData == 0, let offset = range(sector: sector, bytes: writableData) else { return answer(.ioError) }
            let iov = DescriptorChain.iovecs(chain.writable, offset: 0, count: writableData)
            moved = writableData
            return transfer(iov, at: offset, write: false) ? answer(.ok, dataWritten: writableData) : answer(.ioError)
        case .write:
            guard !readOnly, writableData == 0, let offset = range(sector: sector, bytes: readableData) else { return answer(.ioError) }
            let iov = DescriptorChain.iovecs(chain.readable, offset: 16, count: readableData)
            moved = readableData
            return transfer(iov, at: offset, write: true) ? answer(.ok) : answer(.ioError)
        case .flush:
            return fdatasync(fd.rawValue) == 0 ? answer(.ok) : answer(.ioError)
        case .getID:
            // §5.2.6.1: up to 20 bytes, NUL-padded when shorter.
            let id = serial + [UInt8](repeating: 0, count: 20 - serial.count)
            let n = chain.writeWritable(Array(id.prefix(writableData)), offset: 0)
            return answer(.ok, dataWritten: n)
        case nil:
            return answer(.unsupported)
        }
    }

    /// The byte offset of `bytes` at `sector` when they are whole sectors inside the disk.
    func range(sector: UInt64, bytes: Int) -> off_t? {
        guard bytes % Self.sectorSize == 0, sector <= sectors,
            UInt64(bytes / Self.sectorSize) <= sectors - sector
        else { return nil }
        return off_t(sector * UInt64(Self.sectorSize))
    }

    /// preadv/pwritev until every byte moved; short transfers continue where they stopped.
    func transfer(_ iovecs: [iovec], at offset: off_t, write: Bool) -> Bool {
        var iov = iovecs
        var position = offset
        var first = 0
        while first < iov.count {
            let n = iov.withUnsafeMutableBufferPointer { b in
                write ? pwritev(fd.rawValue, b.baseAddress! + first, Int32(b.count - first), position)
                    : preadv(fd.rawValue, b.baseAddress! + first, Int32(b.count - first), position)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }  // an error, or the file ended early
            position += off_t(n)
            var left = n
            while first < iov.count && left >= iov[first].iov_len {
                left -= iov[first].iov_len
                first += 1
            }
            if left > 0 {
                iov[first].iov_base = iov[first].iov_base! + left
                iov[first].iov_len -= left
            }
        }
        return true
    }
}
