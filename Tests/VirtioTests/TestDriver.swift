import Devices
import Foundation
import KVM

/// A driver written in the test: it programs a VirtioMMIO transport through its registers
/// exactly as a guest would (§3.1.1), and builds descriptor tables and rings directly in a
/// GuestMemory, honest or hostile.
final class TestDriver {
    let memory: GuestMemory
    let transport: VirtioMMIO
    let queueSize: UInt16
    let table: UInt64 = 0x10000, available: UInt64 = 0x11000, used: UInt64 = 0x12000
    /// Where tests put headers, data and status bytes.
    let buffers: UInt64 = 0x20000
    private var availableIndex: UInt16 = 0

    init(device: any VirtioDevice, memoryBytes: Int = 1 << 20, queueSize: UInt16 = 16, interrupt: (any InterruptLine)? = nil) throws {
        memory = try GuestMemory(size: memoryBytes)
        transport = VirtioMMIO(device: device, address: 0xD000_0000, irq: 5, memory: memory, interrupt: interrupt)
        self.queueSize = queueSize
    }

    func write(_ offset: UInt64, _ value: UInt32, length: Int = 4) {
        var bytes = withUnsafeBytes(of: value.littleEndian) { Array($0) } + [0, 0, 0, 0]
        bytes.withUnsafeMutableBufferPointer { transport.handle(offset: offset, isWrite: true, data: $0.baseAddress!, length: length) }
    }

    func read(_ offset: UInt64, length: Int = 4) -> UInt32 {
        var bytes = [UInt8](repeating: 0xAA, count: 8)
        bytes.withUnsafeMutableBufferPointer { transport.handle(offset: offset, isWrite: false, data: $0.baseAddress!, length: length) }
        return (0..<min(length, 4)).reduce(0) { $0 | UInt32(bytes[$1]) << (8 * UInt32($1)) }
    }

    var status: UInt32 { read(0x70) }
    var needsReset: Bool { status & VirtioMMIO.Status.needsReset != 0 }

    func deviceFeatures() -> UInt64 {
        write(0x14, 0)
        let low = UInt64(read(0x10))
        write(0x14, 1)
        return low | UInt64(read(0x10)) << 32
    }

    /// Status ACKNOWLEDGE|DRIVER, driver features, FEATURES_OK; returns whether the device kept it.
    @discardableResult
    func negotiate(_ features: UInt64) -> Bool {
        write(0x70, 0)
        write(0x70, 1)
        write(0x70, 3)
        write(0x24, 0)
        write(0x20, UInt32(truncatingIfNeeded: features))
        write(0x24, 1)
        write(0x20, UInt32(truncatingIfNeeded: features >> 32))
        write(0x70, 3 | 8)
        return status & 8 != 0
    }

    /// Negotiates everything offered, sets queue 0 up with `size` and reports DRIVER_OK.
    func start(features: UInt64? = nil, size: UInt16? = nil, ringTable: UInt64? = nil) {
        negotiate(features ?? deviceFeatures())
        write(0x30, 0)
        write(0x38, UInt32(size ?? queueSize))
        let t = ringTable ?? table
        write(0x80, UInt32(truncatingIfNeeded: t)); write(0x84, UInt32(truncatingIfNeeded: t >> 32))
        write(0x90, UInt32(available)); write(0x94, 0)
        write(0xA0, UInt32(used)); write(0xA4, 0)
        write(0x44, 1)
        write(0x70, 3 | 8 | 4)
    }

    static let next: UInt16 = 1, writable: UInt16 = 2, indirect: UInt16 = 4

    /// Descriptor `index` of the table at `at` (the queue's own by default).
    func descriptor(_ index: Int, address: UInt64, length: UInt32, flags: UInt16 = 0, next: UInt16 = 0, at: UInt64? = nil) throws {
        let entry = (at ?? table) + UInt64(16 * index)
        try memory.store(address, at: entry)
        try memory.store(length, at: entry + 8)
        try memory.store(flags, at: entry + 12)
        try memory.store(next, at: entry + 14)
    }

    /// Puts `heads` in the available ring, publishes the index and notifies.
    func submit(_ heads: [UInt16], index: UInt16? = nil) throws {
        for h in heads {
            try memory.store(h, at: available + 4 + 2 * UInt64(availableIndex % queueSize))
            availableIndex &+= 1
        }
        try memory.store(index ?? availableIndex, at: available + 2)
        write(VirtioMMIO.notifyOffset, 0)
    }

    var usedIndex: UInt16 { (try? memory.load(UInt16.self, at: used + 2)) ?? 0 }

    func usedElement(_ i: Int) throws -> (id: UInt32, length: UInt32) {
        (try memory.load(UInt32.self, at: used + 4 + 8 * UInt64(i)), try memory.load(UInt32.self, at: used + 8 + 8 * UInt64(i)))
    }

    func bytes(at address: UInt64, count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: memory.pointer(at: address, count: count)!, count: count))
    }

    /// A virtio-blk request header (type, reserved, sector) at `address`.
    func blockHeader(type: UInt32, sector: UInt64, at address: UInt64) throws {
        try memory.store(type, at: address)
        try memory.store(UInt32(0), at: address + 4)
        try memory.store(sector, at: address + 8)
    }
}

/// A temporary disk file filled with a known pattern, removed at deinit.
final class DiskFile {
    let path: String
    let fd: Int32
    let contents: [UInt8]

    init(bytes: Int, readOnly: Bool = false) throws {
        var template = Array("/tmp/bulkhead-virtio-XXXXXX".utf8CString)
        let f = mkstemp(&template)
        guard f >= 0 else { throw POSIXError(.EIO) }
        _ = fcntl(f, F_SETFD, FD_CLOEXEC)  // no child another suite spawns keeps it open for writing
        path = String(cString: template)
        contents = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        _ = contents.withUnsafeBytes { Glibc.write(f, $0.baseAddress, $0.count) }
        if readOnly {
            close(f)
            fd = open(path, O_RDONLY | O_CLOEXEC)
        } else {
            fd = f
        }
    }

    func current() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: contents.count)
        _ = pread(fd, &buffer, buffer.count, 0)
        return buffer
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

/// Counts the edges a device sends (stands in for the irqfd).
final class CountingInterrupt: InterruptLine, @unchecked Sendable {
    private(set) var count = 0
    func trigger() { count += 1 }
}
