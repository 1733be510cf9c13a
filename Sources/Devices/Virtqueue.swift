import CWorker
import Glibc
import KVM

/// Why a device stopped trusting its driver and asks for a reset (DEVICE_NEEDS_RESET,
/// virtio 1.2 §2.1.2). Every case is something a hostile or broken guest can cause; none
/// of them touches memory outside the guest or crashes the VMM.
public enum VirtioError: Error, Equatable, Sendable {
    /// Queue size 0, not a power of two (§2.7), or above the device's maximum.
    case badQueueSize(UInt16)
    /// A ring area is misaligned or does not lie entirely inside guest memory.
    case ringOutsideGuestMemory
    /// avail.idx moved by more than the queue size since we last looked (§2.7.13.3).
    case availableIndexJump(from: UInt16, to: UInt16)
    /// A head or `next` index outside the descriptor table.
    case descriptorIndexOutOfRange(UInt16)
    /// More descriptors than the table holds: a loop, or a chain longer than the queue.
    case chainTooLong
    /// A buffer whose address + length leaves guest memory (or overflows).
    case bufferOutsideGuestMemory(address: UInt64, length: UInt32)
    /// VIRTQ_DESC_F_INDIRECT without VIRTIO_RING_F_INDIRECT_DESC negotiated (§2.7.5.3.1).
    case indirectNotNegotiated
    /// An indirect descriptor inside an indirect table (§2.7.5.3.1: MUST NOT).
    case nestedIndirect
    /// VIRTQ_DESC_F_INDIRECT together with VIRTQ_DESC_F_NEXT (§2.7.5.3.1: MUST NOT).
    case indirectWithNext
    /// An indirect table length that is zero, not a multiple of 16, or above the limit.
    case badIndirectLength(UInt32)
    /// A device-readable descriptor after a device-writable one (§2.7.4.2: MUST NOT).
    case readableAfterWritable
    /// The request has nowhere to put its status byte, so no answer can be given.
    case noStatusByte
    /// QueueReady = 1 before FEATURES_OK (§3.1.1: queues are set up after negotiation).
    case queueReadyBeforeFeaturesOK
}

/// One guest buffer of a descriptor chain, already checked to lie inside guest memory.
public struct GuestBuffer: @unchecked Sendable {
    // Sendable: points into guest memory, which lives as long as the VM.
    public let address: UInt64
    public let length: Int
    /// Host address of the buffer inside the guest memory mapping.
    public let pointer: UnsafeMutableRawPointer
}

/// A descriptor chain split into what the device may read and what it may write, in order
/// (§2.7.4: readable descriptors first). `head` goes back in the used ring.
public struct DescriptorChain: @unchecked Sendable {
    public let head: UInt16
    public internal(set) var readable: [GuestBuffer] = []
    public internal(set) var writable: [GuestBuffer] = []
    public internal(set) var readableLength = 0
    public internal(set) var writableLength = 0

    init(head: UInt16) { self.head = head }
}

/// A split virtqueue (virtio 1.2 §2.7) as the driver configured it through the transport.
/// The ring addresses are checked once when the driver sets the queue ready; every
/// descriptor is copied out of guest memory once and checked before it is used.
public struct Virtqueue: Sendable {
    public let maxSize: UInt16
    public var size: UInt16
    public var descriptorTable: UInt64 = 0
    public var availableRing: UInt64 = 0
    public var usedRing: UInt64 = 0
    public private(set) var ready = false
    /// Next avail.ring slot we have not consumed, and the used.idx we publish next.
    public private(set) var lastAvailable: UInt16 = 0
    public private(set) var usedIndex: UInt16 = 0
    private var table = Area(), available = Area(), used = Area()

    /// Host addresses of the checked ring areas (Sendable: inside guest memory).
    private struct Area: @unchecked Sendable { var pointer: UnsafeMutableRawPointer? }

    /// The most descriptors an indirect table may hold (UIO_MAXIOV, so one request is one
    /// preadv/pwritev). The spec sets no limit; Linux's drivers stay far below it.
    public static let maxIndirectDescriptors: UInt32 = 1024

    static let flagNext: UInt16 = 1, flagWrite: UInt16 = 2, flagIndirect: UInt16 = 4
    /// VIRTQ_AVAIL_F_NO_INTERRUPT: the driver polls and wants no interrupt (§2.7.7).
    static let availNoInterrupt: UInt16 = 1

    public init(maxSize: UInt16) {
        self.maxSize = maxSize
        self.size = maxSize
    }

    /// QueueReady = 1: checks size and ring areas (§2.7: alignment 16/2/4 and sizes
    /// 16·n, 6+2·n, 6+8·n bytes), then starts consuming from index 0.
    public mutating func makeReady(memory: GuestMemory) throws(VirtioError) {
        guard size != 0, size & (size - 1) == 0, size <= maxSize else { throw .badQueueSize(size) }
        let n = Int(size)
        guard descriptorTable % 16 == 0, availableRing % 2 == 0, usedRing % 4 == 0,
            let t = memory.pointer(at: descriptorTable, count: 16 * n),
            let a = memory.pointer(at: availableRing, count: 6 + 2 * n),
            let u = memory.pointer(at: usedRing, count: 6 + 8 * n)
        else { throw .ringOutsideGuestMemory }
        (table.pointer, available.pointer, used.pointer) = (t, a, u)
        (lastAvailable, usedIndex) = (0, 0)
        ready = true
    }

    /// Back to the state after a device reset (the driver writes the addresses again).
    public mutating func reset() {
        self = Virtqueue(maxSize: maxSize)
    }

    /// The next chain the driver made available, or nil when there is none.
    /// `indirect`: VIRTIO_RING_F_INDIRECT_DESC was negotiated.
    public mutating func nextChain(memory: GuestMemory, indirect: Bool) throws(VirtioError) -> DescriptorChain? {
        guard ready, let availablePointer = available.pointer else { return nil }
        let availableIndex = bh_virtio_load16_acquire(availablePointer + 2)
        let pending = availableIndex &- lastAvailable
        if pending == 0 { return nil }
        guard pending <= size else { throw .availableIndexJump(from: lastAvailable, to: availableIndex) }
        let slot = Int(lastAvailable & (size - 1))
        let head = UInt16(littleEndian: availablePointer.loadUnaligned(fromByteOffset: 4 + 2 * slot, as: UInt16.self))
        lastAvailable &+= 1
        return try walk(head: head, memory: memory, indirect: indirect)
    }

    /// Follows the chain from `head`: every index inside its table, at most as many
    /// descriptors as the table holds (so loops end), indirect tables one level deep.
    private func walk(head: UInt16, memory: GuestMemory, indirect: Bool) throws(VirtioError) -> DescriptorChain {
        var chain = DescriptorChain(head: head)
        var descriptors = UnsafeRawPointer(table.pointer!)
        var count = UInt32(size)
        var index = head
        var visited: UInt32 = 0
        var insideIndirect = false
        while true {
            guard UInt32(index) < count else { throw .descriptorIndexOutOfRange(index) }
            visited += 1
            guard visited <= count else { throw .chainTooLong }
            // One copy of each field: the guest may change the table while we read it.
            let entry = descriptors + 16 * Int(index)
            let address = UInt64(littleEndian: entry.loadUnaligned(as: UInt64.self))
            let length = UInt32(littleEndian: entry.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            let flags = UInt16(littleEndian: entry.loadUnaligned(fromByteOffset: 12, as: UInt16.self))
            let next = UInt16(littleEndian: entry.loadUnaligned(fromByteOffset: 14, as: UInt16.self))

            if flags & Self.flagIndirect != 0 {
                guard indirect else { throw .indirectNotNegotiated }
                guard !insideIndirect else { throw .nestedIndirect }
                guard flags & Self.flagNext == 0 else { throw .indirectWithNext }
                guard length != 0, length % 16 == 0, length / 16 <= Self.maxIndirectDescriptors else {
                    throw .badIndirectLength(length)
                }
                guard let p = memory.pointer(at: address, count: Int(length)) else {
                    throw .bufferOutsideGuestMemory(address: address, length: length)
                }
                // §2.7.5.3.2: the indirect table replaces the rest of the chain.
                guard chain.readable.isEmpty && chain.writable.isEmpty else { throw .indirectWithNext }
                (descriptors, count, index, visited, insideIndirect) = (UnsafeRawPointer(p), length / 16, 0, 0, true)
                continue
            }
            guard let p = memory.pointer(at: address, count: Int(length)) else {
                throw .bufferOutsideGuestMemory(address: address, length: length)
            }
            let buffer = GuestBuffer(address: address, length: Int(length), pointer: p)
            if flags & Self.flagWrite != 0 {
                chain.writable.append(buffer)
                chain.writableLength += Int(length)
            } else {
                guard chain.writable.isEmpty else { throw .readableAfterWritable }
                chain.readable.append(buffer)
                chain.readableLength += Int(length)
            }
            guard flags & Self.flagNext != 0 else { return chain }
            index = next
        }
    }

    /// Gives the chain `nextChain` just returned back to the driver's side, untouched: the
    /// device could not use it yet (virtio-net: a receive buffer but no frame to put in it).
    public mutating func unpopLast() {
        lastAvailable &-= 1
    }

    /// Puts `head` in the used ring with `length` bytes written, then publishes used.idx
    /// (§2.7.8: the element before the index).
    public mutating func addUsed(head: UInt16, length: UInt32) {
        guard ready, let u = used.pointer else { return }
        let slot = Int(usedIndex & (size - 1))
        u.storeBytes(of: UInt32(head).littleEndian, toByteOffset: 4 + 8 * slot, as: UInt32.self)
        u.storeBytes(of: length.littleEndian, toByteOffset: 8 + 8 * slot, as: UInt32.self)
        usedIndex &+= 1
        bh_virtio_store16_release(u + 2, usedIndex)
    }

    /// The driver set VIRTQ_AVAIL_F_NO_INTERRUPT (read after publishing used.idx).
    public var interruptSuppressed: Bool {
        guard let a = available.pointer else { return true }
        bh_virtio_fence()
        return bh_virtio_load16_acquire(a) & Self.availNoInterrupt != 0
    }
}

extension DescriptorChain {
    /// iovecs for `count` bytes of `buffers` starting `offset` bytes in: straight into guest
    /// memory, no copy. The buffers were checked when the chain was walked.
    static func iovecs(_ buffers: [GuestBuffer], offset: Int, count: Int) -> [iovec] {
        var result: [iovec] = []
        var skip = offset, left = count
        for b in buffers where left > 0 {
            if skip >= b.length { skip -= b.length; continue }
            let n = min(b.length - skip, left)
            result.append(iovec(iov_base: b.pointer + skip, iov_len: n))
            left -= n
            skip = 0
        }
        return result
    }

    /// Copies `count` readable bytes from `offset` (e.g. a request header split anywhere).
    func readReadable(offset: Int, count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for v in Self.iovecs(readable, offset: offset, count: count) {
            bytes += UnsafeRawBufferPointer(start: v.iov_base, count: v.iov_len)
        }
        return bytes
    }

    /// Writes `bytes` into the writable buffers from `offset`; returns how many fit.
    @discardableResult
    func writeWritable(_ bytes: [UInt8], offset: Int) -> Int {
        var done = 0
        for v in Self.iovecs(writable, offset: offset, count: bytes.count) {
            bytes[done..<(done + v.iov_len)].withUnsafeBytes { v.iov_base!.copyMemory(from: $0.baseAddress!, byteCount: v.iov_len) }
            done += v.iov_len
        }
        return done
    }
}
