import Devices
import Glibc
import KVM
import SystemPackage
import Testing

/// virtio-net with a datagram socketpair standing in for the tap (both keep frame
/// boundaries): frames move between the "tap" and guest buffers through the rings.
@Suite struct VirtioNetTests {
    let tap: Int32, host: Int32
    let net: VirtioNet
    let d: TestDriver
    let rxTable: UInt64 = 0x10000, txTable: UInt64 = 0x14000

    init() throws {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw KVMError.invalid("socketpair")
        }
        (tap, host) = (pair[0], pair[1])
        net = VirtioNet(fd: FileDescriptor(rawValue: tap), mac: [0x52, 0x54, 0, 1, 2, 3])
        d = try TestDriver(device: net, queueSize: 16)
        d.negotiate(d.deviceFeatures())
        for (queue, table) in [(UInt32(0), rxTable), (1, txTable)] {
            d.write(0x30, queue)
            d.write(0x38, 16)
            d.write(0x80, UInt32(table)); d.write(0x90, UInt32(table + 0x1000)); d.write(0xA0, UInt32(table + 0x2000))
            d.write(0x44, 1)
        }
        d.write(0x70, 15)
    }

    func cleanUp() { close(tap); close(host) }

    func offer(queue: UInt64, _ heads: [UInt16], index: UInt16) throws {
        let avail = queue + 0x1000
        for (i, h) in heads.enumerated() { try d.memory.store(h, at: avail + 4 + 2 * UInt64(Int(index) - heads.count + i)) }
        try d.memory.store(index, at: avail + 2)
    }

    func used(_ queue: UInt64) throws -> UInt16 { try d.memory.load(UInt16.self, at: queue + 0x2002) }

    @Test func configurationCarriesTheMACAndTheMACFeatureIsOffered() throws {
        defer { cleanUp() }
        #expect(d.read(0x008) == 1)
        #expect(d.deviceFeatures() & VirtioNet.featureMAC != 0)
        #expect((0..<6).map { UInt8(d.read(0x100 + UInt64($0), length: 1)) } == [0x52, 0x54, 0, 1, 2, 3])
    }

    @Test func transmittedFrameReachesTheTapWithoutTheVirtioHeader() throws {
        defer { cleanUp() }
        let frame = (0..<60).map { UInt8($0) }
        try d.memory.write([UInt8](repeating: 0, count: 12) + frame, at: d.buffers)
        try d.descriptor(0, address: d.buffers, length: 72, at: txTable)
        try offer(queue: txTable, [0], index: 1)
        d.write(VirtioMMIO.notifyOffset, 1)
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = read(host, &buffer, buffer.count)
        #expect(Array(buffer.prefix(max(n, 0))) == frame)
        #expect(try used(txTable) == 1)
    }

    @Test func receivedFrameLandsAfterAHeaderWithNumBuffersOne() throws {
        defer { cleanUp() }
        try d.descriptor(0, address: d.buffers, length: 2048, flags: TestDriver.writable, at: rxTable)
        try offer(queue: rxTable, [0], index: 1)
        d.write(VirtioMMIO.notifyOffset, 0)
        #expect(net.wantsFrames, "a buffer is posted and the tap is empty: poll the tap")
        #expect(try used(rxTable) == 0)
        let frame = (0..<64).map { UInt8(255 - $0) }
        _ = frame.withUnsafeBytes { write(host, $0.baseAddress, $0.count) }
        d.transport.processQueues()  // what the io thread does when the tap is readable
        #expect(try used(rxTable) == 1)
        #expect(try d.memory.load(UInt32.self, at: rxTable + 0x2000 + 8) == 12 + 64)
        #expect(d.bytes(at: d.buffers, count: 12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
        #expect(d.bytes(at: d.buffers + 12, count: 64) == frame)
        #expect(!net.wantsFrames, "no buffer left: wait for the driver's next notify")
    }

    @Test func transmitChainWithAWritableBufferIsReturnedUnsent() throws {
        defer { cleanUp() }
        try d.descriptor(0, address: d.buffers, length: 72, flags: TestDriver.writable, at: txTable)
        try offer(queue: txTable, [0], index: 1)
        d.write(VirtioMMIO.notifyOffset, 1)
        var buffer = [UInt8](repeating: 0, count: 2048)
        #expect(read(host, &buffer, buffer.count) < 0, "nothing reached the tap")
        #expect(try used(txTable) == 1)
        #expect(net.dropped == 1)
    }

    @Test func receiveBufferThatIsDeviceReadableIsSkippedAndNeverWritten() throws {
        defer { cleanUp() }
        try d.memory.write([UInt8](repeating: 0x33, count: 2048), at: d.buffers)
        try d.descriptor(0, address: d.buffers, length: 2048, at: rxTable)
        try offer(queue: rxTable, [0], index: 1)
        let frame = [UInt8](repeating: 7, count: 64)
        _ = frame.withUnsafeBytes { write(host, $0.baseAddress, $0.count) }
        d.write(VirtioMMIO.notifyOffset, 0)
        #expect(try used(rxTable) == 1)
        #expect(try d.memory.load(UInt32.self, at: rxTable + 0x2000 + 8) == 0)
        #expect(d.bytes(at: d.buffers, count: 2048) == [UInt8](repeating: 0x33, count: 2048))
    }

    @Test func hostileTransmitChainStillNeedsReset() throws {
        defer { cleanUp() }
        try d.descriptor(0, address: UInt64(d.memory.size) - 10, length: 72, at: txTable)
        try offer(queue: txTable, [0], index: 1)
        d.write(VirtioMMIO.notifyOffset, 1)
        #expect(d.needsReset)
    }

    @Test func linuxFindsTheDeviceThroughItsCommandLineEntry() {
        defer { cleanUp() }
        #expect(d.transport.linuxCommandLineDevice == "virtio_mmio.device=4K@0xd0000000:5")
    }
}
