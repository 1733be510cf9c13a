import Devices
import Glibc
import KVM
import SystemPackage
import Testing

/// Hostile queues built in guest memory: each ends in DEVICE_NEEDS_RESET (or a refused
/// FEATURES_OK) with the reason recorded, never a crash, never a byte outside guest memory
/// or the disk, and nothing processed until the driver resets the device.
@Suite struct HostileQueueTests {
    let disk: DiskFile
    let d: TestDriver

    init() throws {
        disk = try DiskFile(bytes: 64 * 1024)
        d = try TestDriver(device: VirtioBlock(fd: FileDescriptor(rawValue: disk.fd), byteCount: 64 * 1024, readOnly: false, serial: "d"))
    }

    /// A well-formed write of 512 bytes of 0x77 to sector 0 using descriptors `first`...`first+2`.
    func honestWrite(first: Int = 0) throws -> UInt16 {
        let b = d.buffers + 0x4000
        try d.blockHeader(type: 1, sector: 0, at: b)
        try d.memory.write([UInt8](repeating: 0x77, count: 512), at: b + 0x100)
        try d.descriptor(first, address: b, length: 16, flags: TestDriver.next, next: UInt16(first + 1))
        try d.descriptor(first + 1, address: b + 0x100, length: 512, flags: TestDriver.next, next: UInt16(first + 2))
        try d.descriptor(first + 2, address: b + 0x1000, length: 1, flags: TestDriver.writable)
        return UInt16(first)
    }

    func expectReset(_ error: VirtioError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(d.needsReset, sourceLocation: sourceLocation)
        #expect(d.transport.lastError == error, sourceLocation: sourceLocation)
        #expect(disk.current() == disk.contents, "nothing reached the disk", sourceLocation: sourceLocation)
    }

    @Test func bufferOutsideGuestMemoryNeedsReset() throws {
        d.start()
        let size = UInt64(d.memory.size)
        try d.blockHeader(type: 1, sector: 0, at: d.buffers)
        try d.descriptor(0, address: d.buffers, length: 16, flags: TestDriver.next, next: 1)
        try d.descriptor(1, address: size - 256, length: 512, flags: TestDriver.next, next: 2)
        try d.descriptor(2, address: d.buffers + 0x100, length: 1, flags: TestDriver.writable)
        try d.submit([0])
        expectReset(.bufferOutsideGuestMemory(address: size - 256, length: 512))
    }

    @Test func bufferLengthThatOverflowsTheAddressNeedsReset() throws {
        d.start()
        try d.descriptor(0, address: UInt64.max - 8, length: 0xFFFF_FFFF, flags: TestDriver.next, next: 1)
        try d.descriptor(1, address: d.buffers, length: 1, flags: TestDriver.writable)
        try d.submit([0])
        expectReset(.bufferOutsideGuestMemory(address: UInt64.max - 8, length: 0xFFFF_FFFF))
    }

    @Test func chainThatLoopsNeedsReset() throws {
        d.start()
        try d.descriptor(0, address: d.buffers, length: 16, flags: TestDriver.next, next: 1)
        try d.descriptor(1, address: d.buffers, length: 16, flags: TestDriver.next, next: 0)
        try d.submit([0])
        expectReset(.chainTooLong)
    }

    @Test func loopInsideAnIndirectTableNeedsReset() throws {
        d.start()
        let table = d.buffers + 0x8000
        for i in 0..<4 { try d.descriptor(i, address: d.buffers, length: 16, flags: TestDriver.next, next: UInt16((i + 1) % 4), at: table) }
        try d.descriptor(0, address: table, length: 64, flags: TestDriver.indirect)
        try d.submit([0])
        expectReset(.chainTooLong)
    }

    @Test func indirectTableInsideAnIndirectTableNeedsReset() throws {
        d.start()
        let outer = d.buffers + 0x8000, inner = d.buffers + 0x9000
        _ = try honestWrite()
        try d.descriptor(0, address: d.buffers + 0x4000, length: 16, at: inner)
        try d.descriptor(0, address: inner, length: 16, flags: TestDriver.indirect, at: outer)
        try d.descriptor(5, address: outer, length: 16, flags: TestDriver.indirect)
        try d.submit([5])
        expectReset(.nestedIndirect)
    }

    @Test func indirectDescriptorWithNextNeedsReset() throws {
        d.start()
        try d.descriptor(5, address: d.buffers + 0x8000, length: 48, flags: TestDriver.indirect | TestDriver.next, next: 6)
        try d.submit([5])
        expectReset(.indirectWithNext)
    }

    @Test(arguments: [UInt32(0), 17, (Virtqueue.maxIndirectDescriptors + 1) * 16])
    func indirectTableWithABadLengthNeedsReset(length: UInt32) throws {
        // Guest memory large enough that only the length rule can refuse the table.
        let big = try TestDriver(device: VirtioBlock(fd: FileDescriptor(rawValue: disk.fd), byteCount: 64 * 1024, readOnly: false, serial: "d"), memoryBytes: 4 << 20)
        big.start()
        try big.descriptor(0, address: big.buffers, length: length, flags: TestDriver.indirect)
        try big.submit([0])
        #expect(big.needsReset)
        #expect(big.transport.lastError == .badIndirectLength(length))
    }

    @Test func indirectDescriptorWithoutTheFeatureNeedsReset() throws {
        d.start(features: VirtioMMIO.featureVersion1)
        try d.descriptor(0, address: d.buffers + 0x8000, length: 48, flags: TestDriver.indirect)
        try d.submit([0])
        expectReset(.indirectNotNegotiated)
    }

    @Test func readableDescriptorAfterAWritableOneNeedsReset() throws {
        d.start()
        try d.descriptor(0, address: d.buffers, length: 16, flags: TestDriver.next | TestDriver.writable, next: 1)
        try d.descriptor(1, address: d.buffers + 0x100, length: 16)
        try d.submit([0])
        expectReset(.readableAfterWritable)
    }

    @Test func headIndexOutsideTheTableNeedsReset() throws {
        d.start()
        try d.submit([d.queueSize])
        expectReset(.descriptorIndexOutOfRange(d.queueSize))
    }

    @Test func nextIndexOutsideTheTableNeedsReset() throws {
        d.start()
        try d.descriptor(0, address: d.buffers, length: 16, flags: TestDriver.next, next: 999)
        try d.submit([0])
        expectReset(.descriptorIndexOutOfRange(999))
    }

    @Test func availableIndexThatJumpsPastTheQueueSizeNeedsReset() throws {
        d.start()
        let head = try honestWrite()
        try d.submit([head], index: 1000)
        expectReset(.availableIndexJump(from: 0, to: 1000))
    }

    @Test(arguments: [UInt16(12), 0, 512])
    func queueSizeThatIsNotAPowerOfTwoOrTooLargeNeedsReset(size: UInt16) throws {
        d.start(size: size)
        expectReset(.badQueueSize(size))
        #expect(d.read(0x44) == 0)
    }

    @Test func ringsOutsideGuestMemoryNeedReset() throws {
        d.start(ringTable: UInt64(d.memory.size) - 64)
        expectReset(.ringOutsideGuestMemory)
    }

    @Test func misalignedDescriptorTableNeedsReset() throws {
        d.start(ringTable: d.table + 8)
        expectReset(.ringOutsideGuestMemory)
    }

    @Test func requestWithoutAWritableStatusByteNeedsReset() throws {
        d.start()
        try d.blockHeader(type: 0, sector: 0, at: d.buffers)
        try d.descriptor(0, address: d.buffers, length: 16)
        try d.submit([0])
        expectReset(.noStatusByte)
    }

    @Test func featuresTheDeviceDidNotOfferAreRefused() throws {
        #expect(!d.negotiate(VirtioMMIO.featureVersion1 | 1 << 29))  // EVENT_IDX: not offered
        #expect(!d.negotiate(VirtioMMIO.featureVersion1 | VirtioBlock.featureReadOnly))
        #expect(d.negotiate(VirtioMMIO.featureVersion1))
    }

    @Test func legacyDriverWithoutVersion1IsRefused() throws {
        #expect(!d.negotiate(VirtioBlock.featureFlush))
    }

    @Test func queueSetReadyBeforeFeaturesOKNeedsReset() throws {
        d.write(0x70, 1)
        d.write(0x70, 3)
        d.write(0x38, 16)
        d.write(0x44, 1)
        #expect(d.needsReset)
        #expect(d.transport.lastError == .queueReadyBeforeFeaturesOK)
    }

    @Test func deviceThatNeedsResetProcessesNothingUntilTheDriverResetsIt() throws {
        d.start()
        try d.submit([d.queueSize])  // hostile
        #expect(d.needsReset)
        let head = try honestWrite()
        try d.submit([head])
        #expect(disk.current() == disk.contents)
        #expect(d.usedIndex == 0)

        d.write(0x70, 0)
        #expect(d.status == 0)
        #expect(d.transport.lastError == nil)
        // The reset device serves an honest driver again (used and avail indices restart at 0).
        try d.memory.write([UInt8](repeating: 0, count: 4096 * 3), at: d.table)
        let driver = try ResetDriver(d)
        try driver.run(head: try honestWrite())
        #expect(disk.current()[0..<512] == [UInt8](repeating: 0x77, count: 512)[...])
    }

    @Test func registerWritesOfTheWrongWidthAreIgnored() throws {
        d.write(0x70, 1, length: 1)
        #expect(d.status == 0)
        #expect(d.read(0x000, length: 2) == 0)
    }

    @Test func queueRegistersCannotMoveARingOnceItIsReady() throws {
        d.start()
        d.write(0x80, UInt32(d.memory.size - 16))
        let head = try honestWrite()
        try d.submit([head])
        #expect(!d.needsReset)
        #expect(d.usedIndex == 1)
    }
}

/// Starts the same transport again after a reset (the avail index restarts at 0 too).
struct ResetDriver {
    let d: TestDriver
    init(_ d: TestDriver) throws { self.d = d }
    func run(head: UInt16) throws {
        d.start()
        try d.memory.store(head, at: d.available + 4)
        try d.memory.store(UInt16(1), at: d.available + 2)
        d.write(VirtioMMIO.notifyOffset, 0)
    }
}
