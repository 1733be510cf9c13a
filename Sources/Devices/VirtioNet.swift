import Glibc
import KVM
import SystemPackage

/// virtio-net (virtio 1.2 §5.1) on a tap fd the net helper opened with IFF_TAP|IFF_NO_PI
/// and without IFF_VNET_HDR, non-blocking. Queue 0 receives, queue 1 transmits. Frames move
/// with one readv/writev whose iovecs point into the guest's buffers: no bounce buffer.
/// No offloads are offered, so the 12-byte virtio_net_hdr (§5.1.6, VERSION_1 layout) is
/// all zeros except num_buffers = 1 on receive, and is skipped on transmit.
public final class VirtioNet: VirtioDevice, @unchecked Sendable {
    // Sendable: only the transport calls in, under its lock; `wantsFrames` is read by the
    // io thread, the only thread that processes queues.
    public static let featureMAC: UInt64 = 1 << 5
    public static let headerSize = 12
    public static let queueSize: UInt16 = 256
    static let receiveQueue = 0, transmitQueue = 1

    public let fd: FileDescriptor
    public let mac: [UInt8]
    public let deviceID: UInt32 = 1
    public var deviceFeatures: UInt64 { Self.featureMAC }
    public var queueSizes: [UInt16] { [Self.queueSize, Self.queueSize] }
    /// struct virtio_net_config: mac[6] (status and the rest are not offered).
    public var configuration: [UInt8] { mac }
    /// True while the guest has receive buffers posted and the tap was drained: the io
    /// thread then polls the tap. False when buffers ran out (wait for the next notify).
    public private(set) var wantsFrames = false
    /// Frames sent and received, and frames the tap refused (full: dropped, as a NIC does).
    public private(set) var sent = 0, received = 0, dropped = 0
    /// The same for `metrics`: frames sent or received, their bytes, frames dropped.
    public let counters = DeviceCounters()

    public init(fd: FileDescriptor, mac: [UInt8]) {
        self.fd = fd
        self.mac = mac
    }

    public func reset() { wantsFrames = false }

    public func process(queue index: Int, _ queue: inout Virtqueue, memory: GuestMemory, features: UInt64) throws(VirtioError) -> Bool {
        let indirect = features & VirtioMMIO.featureIndirect != 0
        return index == Self.transmitQueue
            ? try transmit(&queue, memory: memory, indirect: indirect)
            : try receive(&queue, memory: memory, indirect: indirect)
    }

    /// Each chain: header then frame in device-readable buffers, one writev to the tap.
    private func transmit(_ queue: inout Virtqueue, memory: GuestMemory, indirect: Bool) throws(VirtioError) -> Bool {
        var any = false
        while let chain = try queue.nextChain(memory: memory, indirect: indirect) {
            // A transmit buffer the device could write, or one shorter than the header, is
            // not a frame: it is returned unsent (the driver sees length 0).
            if chain.writable.isEmpty && chain.readableLength > Self.headerSize {
                var iov = DescriptorChain.iovecs(chain.readable, offset: Self.headerSize, count: chain.readableLength - Self.headerSize)
                let n = iov.withUnsafeMutableBufferPointer { writev(fd.rawValue, $0.baseAddress, Int32($0.count)) }
                if n < 0 { dropped += 1 } else { sent += 1 }
                counters.count(bytes: max(n, 0), failed: n < 0)
            } else {
                dropped += 1
                counters.count(bytes: 0, failed: true)
            }
            queue.addUsed(head: chain.head, length: 0)
            any = true
        }
        return any
    }

    /// While the tap has frames and the guest has buffers: readv one frame after the
    /// header into each device-writable chain.
    private func receive(_ queue: inout Virtqueue, memory: GuestMemory, indirect: Bool) throws(VirtioError) -> Bool {
        var any = false
        wantsFrames = false
        while let chain = try queue.nextChain(memory: memory, indirect: indirect) {
            guard chain.readable.isEmpty, chain.writableLength >= Self.headerSize + 14 else {
                queue.addUsed(head: chain.head, length: 0)  // no room for a frame: skip it
                any = true
                continue
            }
            var iov = DescriptorChain.iovecs(chain.writable, offset: Self.headerSize, count: chain.writableLength - Self.headerSize)
            let n = iov.withUnsafeMutableBufferPointer { readv(fd.rawValue, $0.baseAddress, Int32($0.count)) }
            if n < 0 && errno == EINTR { queue.unpopLast(); continue }
            guard n > 0 else {
                // EAGAIN: the tap is empty. Keep the buffer for the next frame.
                queue.unpopLast()
                wantsFrames = true
                return any
            }
            var header = [UInt8](repeating: 0, count: Self.headerSize)
            header[10] = 1  // num_buffers
            chain.writeWritable(header, offset: 0)
            queue.addUsed(head: chain.head, length: UInt32(Self.headerSize + n))
            received += 1
            counters.count(bytes: n)
            any = true
        }
        return any
    }
}
