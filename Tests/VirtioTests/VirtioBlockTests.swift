import Devices
import Glibc
import KVM
import SystemPackage
import Testing

/// virtio-blk on a disk fd, driven through the MMIO registers and rings in guest memory.
@Suite struct VirtioBlockTests {
    static let t = TestDriver.self

    func blockDriver(disk: DiskFile, readOnly: Bool = false) throws -> TestDriver {
        let device = VirtioBlock(fd: FileDescriptor(rawValue: disk.fd), byteCount: UInt64(disk.contents.count), readOnly: readOnly, serial: "bulkhead-disk0")
        let driver = try TestDriver(device: device)
        driver.start()
        return driver
    }

    /// header (readable) → data (writable, `length`) → status (writable) at descriptors 0–2.
    func request(_ d: TestDriver, type: UInt32, sector: UInt64, length: UInt32, dataWritable: Bool = true) throws -> UInt8 {
        let header = d.buffers, data = d.buffers + 0x100, status = d.buffers + 0x10000 - 1
        try d.blockHeader(type: type, sector: sector, at: header)
        try d.memory.store(UInt8(0xEE), at: status)
        try d.descriptor(0, address: header, length: 16, flags: TestDriver.next, next: 1)
        try d.descriptor(1, address: data, length: length, flags: TestDriver.next | (dataWritable ? TestDriver.writable : 0), next: 2)
        try d.descriptor(2, address: status, length: 1, flags: TestDriver.writable)
        try d.submit([0])
        return try d.memory.load(UInt8.self, at: status)
    }

    @Test func deviceIdentifiesAsModernVirtioBlockWithCapacityInSectors() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        #expect(d.read(0x000) == VirtioMMIO.magic)
        #expect(d.read(0x004) == 2)
        #expect(d.read(0x008) == 2)
        #expect(d.read(0x100) == 128)
        #expect(d.read(0x104) == 0)
        #expect(d.deviceFeatures() & VirtioMMIO.featureVersion1 != 0)
        #expect(d.deviceFeatures() & VirtioBlock.featureReadOnly == 0)
    }

    @Test func readMovesDiskBytesIntoTheGuestBuffer() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        #expect(try request(d, type: 0, sector: 3, length: 4096) == 0)
        #expect(d.bytes(at: d.buffers + 0x100, count: 4096) == Array(disk.contents[1536..<(1536 + 4096)]))
        #expect(d.usedIndex == 1)
        #expect(try d.usedElement(0) == (0, 4097))
    }

    @Test func writeMovesGuestBytesIntoTheDisk() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        let pattern = (0..<1024).map { UInt8(truncatingIfNeeded: 0xA5 ^ $0) }
        try d.memory.write(pattern, at: d.buffers + 0x100)
        #expect(try request(d, type: 1, sector: 2, length: 1024, dataWritable: false) == 0)
        var expected = disk.contents
        expected.replaceSubrange(1024..<2048, with: pattern)
        #expect(disk.current() == expected)
        #expect(try d.usedElement(0).length == 1)
    }

    @Test func readOnlyDiskOffersTheROFeatureAndAnswersWriteWithIOErr() throws {
        let disk = try DiskFile(bytes: 16 * 1024, readOnly: true)
        let d = try blockDriver(disk: disk, readOnly: true)
        #expect(d.deviceFeatures() & VirtioBlock.featureReadOnly != 0)
        #expect(try request(d, type: 1, sector: 0, length: 512, dataWritable: false) == 1)
        #expect(disk.current() == disk.contents)
        #expect(!d.needsReset)
    }

    @Test(arguments: [(127, 1024), (128, 512), (UInt64.max, 512), (UInt64.max / 512 + 1, 512)] as [(UInt64, UInt32)])
    func requestPastTheEndOfTheDiskIsAnsweredIOErr(sector: UInt64, length: UInt32) throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        #expect(try request(d, type: 0, sector: sector, length: length) == 1)
        #expect(try request(d, type: 1, sector: sector, length: length, dataWritable: false) == 1)
        #expect(disk.current() == disk.contents)
    }

    @Test func readIntoADeviceReadableBufferIsAnsweredIOErrAndTheBufferIsUntouched() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        try d.memory.write([UInt8](repeating: 0x11, count: 512), at: d.buffers + 0x100)
        #expect(try request(d, type: 0, sector: 0, length: 512, dataWritable: false) == 1)
        #expect(d.bytes(at: d.buffers + 0x100, count: 512) == [UInt8](repeating: 0x11, count: 512))
    }

    @Test func writeFromADeviceWritableBufferIsAnsweredIOErr() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        #expect(try request(d, type: 1, sector: 0, length: 512, dataWritable: true) == 1)
        #expect(disk.current() == disk.contents)
    }

    @Test func partialSectorIsAnsweredIOErr() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        #expect(try request(d, type: 0, sector: 0, length: 100) == 1)
    }

    @Test func getIDAnswersTheSerialAndFlushSucceedsAndUnknownTypesAreUnsupported() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        #expect(try request(d, type: 8, sector: 0, length: 20) == 0)
        #expect(d.bytes(at: d.buffers + 0x100, count: 20) == Array("bulkhead-disk0".utf8) + [0, 0, 0, 0, 0, 0])
        #expect(try request(d, type: 4, sector: 0, length: 0) == 0)
        #expect(try request(d, type: 99, sector: 0, length: 512) == 2)
    }

    @Test func headerSplitAcrossDescriptorsAndDataAcrossThreeBuffersStillReads() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        let b = d.buffers
        try d.blockHeader(type: 0, sector: 1, at: b)
        try d.descriptor(0, address: b, length: 5, flags: TestDriver.next, next: 1)
        try d.descriptor(1, address: b + 5, length: 11, flags: TestDriver.next, next: 2)
        try d.descriptor(2, address: b + 0x1000, length: 100, flags: TestDriver.next | TestDriver.writable, next: 3)
        try d.descriptor(3, address: b + 0x3000, length: 412, flags: TestDriver.next | TestDriver.writable, next: 4)
        // The last writable buffer holds the last 512 data bytes and the status byte.
        try d.descriptor(4, address: b + 0x5000, length: 513, flags: TestDriver.writable)
        try d.submit([0])
        #expect(try d.memory.load(UInt8.self, at: b + 0x5000 + 512) == 0)
        let read = d.bytes(at: b + 0x1000, count: 100) + d.bytes(at: b + 0x3000, count: 412) + d.bytes(at: b + 0x5000, count: 512)
        #expect(read == Array(disk.contents[512..<1536]))
    }

    @Test func indirectTableCarriesARequest() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        let b = d.buffers, indirect = d.buffers + 0x8000
        try d.blockHeader(type: 0, sector: 0, at: b)
        try d.descriptor(0, address: b, length: 16, flags: TestDriver.next, next: 1, at: indirect)
        try d.descriptor(1, address: b + 0x1000, length: 512, flags: TestDriver.next | TestDriver.writable, next: 2, at: indirect)
        try d.descriptor(2, address: b + 0x2000, length: 1, flags: TestDriver.writable, at: indirect)
        try d.descriptor(5, address: indirect, length: 48, flags: TestDriver.indirect)
        try d.submit([5])
        #expect(try d.memory.load(UInt8.self, at: b + 0x2000) == 0)
        #expect(d.bytes(at: b + 0x1000, count: 512) == Array(disk.contents[0..<512]))
        #expect(try d.usedElement(0) == (5, 513))
    }

    @Test func manyRequestsInOneNotificationAllComplete() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let d = try blockDriver(disk: disk)
        for r in 0..<5 {
            let base = d.buffers + UInt64(r) * 0x2000
            try d.blockHeader(type: 0, sector: UInt64(r), at: base)
            try d.descriptor(3 * r, address: base, length: 16, flags: TestDriver.next, next: UInt16(3 * r + 1))
            try d.descriptor(3 * r + 1, address: base + 0x100, length: 512, flags: TestDriver.next | TestDriver.writable, next: UInt16(3 * r + 2))
            try d.descriptor(3 * r + 2, address: base + 0x1000, length: 1, flags: TestDriver.writable)
        }
        try d.submit([0, 3, 6, 9, 12])
        #expect(d.usedIndex == 5)
        for r in 0..<5 {
            #expect(d.bytes(at: d.buffers + UInt64(r) * 0x2000 + 0x100, count: 512) == Array(disk.contents[(512 * r)..<(512 * r + 512)]))
        }
    }

    @Test func completedRequestsRaiseOneInterruptUnlessTheDriverSuppressedIt() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let line = CountingInterrupt()
        let d = try TestDriver(device: VirtioBlock(fd: FileDescriptor(rawValue: disk.fd), byteCount: 64 * 1024, readOnly: false, serial: "d"), interrupt: line)
        d.start()
        #expect(try request(d, type: 0, sector: 0, length: 512) == 0)
        #expect(line.count == 1)
        #expect(d.read(0x60) == 1, "InterruptStatus: used buffer notification")
        d.write(0x64, 1)
        #expect(d.read(0x60) == 0, "InterruptACK clears it")
        try d.memory.store(UInt16(1), at: d.available)  // VIRTQ_AVAIL_F_NO_INTERRUPT
        #expect(try request(d, type: 0, sector: 0, length: 512) == 0)
        #expect(line.count == 1)
    }

    @Test func deviceThatNeedsResetSendsAConfigurationChangeInterrupt() throws {
        let disk = try DiskFile(bytes: 64 * 1024)
        let line = CountingInterrupt()
        let d = try TestDriver(device: VirtioBlock(fd: FileDescriptor(rawValue: disk.fd), byteCount: 64 * 1024, readOnly: false, serial: "d"), interrupt: line)
        d.start()
        try d.submit([99])
        #expect(d.needsReset)
        #expect(line.count == 1)
        #expect(d.read(0x60) == 2)
    }
}
