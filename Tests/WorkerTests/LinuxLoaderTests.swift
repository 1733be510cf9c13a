import KVM
import Testing

/// The vmlinux and bzImage loaders on hostile input: every malformed image is refused with
/// a clear error before anything is copied, and a good one lands where its headers say.
@Suite struct LinuxLoaderTests {
    struct Segment {
        var type: UInt32 = 1
        var offset: UInt64
        var address: UInt64
        var fileSize: UInt64
        var memorySize: UInt64
    }

    /// A minimal ELF64 x86-64 executable: header, program headers, then `payload`.
    static func elf(
        entry: UInt64 = 0x100_0000, segments: [Segment]? = nil, payload: [UInt8] = Array(repeating: 0xC3, count: 256),
        machine: UInt16 = 62, type: UInt16 = 2, phentsize: UInt16 = 56, phnumOverride: UInt16? = nil
    ) -> [UInt8] {
        let segments = segments ?? [Segment(offset: 0x1000, address: 0x100_0000, fileSize: UInt64(payload.count), memorySize: 0x2000)]
        var b = [UInt8](repeating: 0, count: 0x1000)
        b.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
        b[4] = 2; b[5] = 1; b[6] = 1
        put(&b, type, 16); put(&b, machine, 18); put(&b, UInt32(1), 20)
        put(&b, entry, 24); put(&b, UInt64(64), 32)
        put(&b, UInt16(64), 52); put(&b, phentsize, 54); put(&b, phnumOverride ?? UInt16(segments.count), 56)
        for (i, s) in segments.enumerated() {
            let at = 64 + 56 * i
            put(&b, s.type, at); put(&b, UInt32(5), at + 4); put(&b, s.offset, at + 8)
            put(&b, s.address | 0xFFFF_FFFF_8000_0000, at + 16); put(&b, s.address, at + 24)
            put(&b, s.fileSize, at + 32); put(&b, s.memorySize, at + 40)
        }
        return b + payload
    }

    static func put<T: FixedWidthInteger>(_ b: inout [UInt8], _ v: T, _ at: Int) {
        for i in 0..<MemoryLayout<T>.size { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }

    static func load(_ bytes: [UInt8], memory: Int = 64 << 20, commandLine: String = "console=ttyS0") throws -> (LinuxBoot.Loaded, GuestMemory) {
        let memory = try GuestMemory(size: memory)
        let loaded = try LinuxBoot.load(kernel: KernelBytes(bytes), initrd: nil as KernelBytes?, commandLine: commandLine, into: memory)
        return (loaded, memory)
    }

    @Test func vmlinuxSegmentsLandAtTheirPhysicalAddressesWithBSSZeroed() throws {
        let memory = try GuestMemory(size: 64 << 20)
        try memory.write(repeatElement(0xAA, count: 0x2000), at: 0x100_0000)  // stale bytes where bss goes
        let loaded = try LinuxBoot.load(
            kernel: KernelBytes(Self.elf()), initrd: KernelBytes([1, 2, 3, 4]), commandLine: "console=ttyS0 quiet", into: memory)
        #expect(loaded.entry == 0x100_0000)
        #expect(try memory.load(UInt8.self, at: 0x100_0000) == 0xC3)
        #expect(try memory.load(UInt8.self, at: 0x100_0000 + 256) == 0)  // bss zeroed
        let zp = loaded.bootParams
        #expect(try memory.load(UInt16.self, at: zp + 0x1FE) == 0xAA55)
        #expect(try memory.load(UInt32.self, at: zp + 0x202) == 0x5372_6448)
        #expect(try memory.load(UInt8.self, at: zp + 0x1E8) == 2)  // e820 entries
        #expect(try memory.load(UInt64.self, at: zp + 0x2D0 + 20 + 8) == (64 << 20) - 0x10_0000)
        let cmdline = try memory.load(UInt32.self, at: zp + 0x228)
        let text = try (0..<19).map { try memory.load(UInt8.self, at: UInt64(cmdline) + UInt64($0)) }
        #expect(String(decoding: text, as: UTF8.self) == "console=ttyS0 quiet")
        let initrd = try memory.load(UInt32.self, at: zp + 0x218)
        #expect(try memory.load(UInt32.self, at: zp + 0x21C) == 4)
        #expect(try memory.load(UInt32.self, at: UInt64(initrd)) == 0x0403_0201)
    }

    static let hostile: [(String, [UInt8])] = [
        ("empty file", []),
        ("truncated ELF header", Array(elf().prefix(40))),
        ("32-bit ELF", { var b = elf(); b[4] = 1; return b }()),
        ("big-endian ELF", { var b = elf(); b[5] = 2; return b }()),
        ("not x86-64", elf(machine: 183)),
        ("shared object, not executable", elf(type: 3)),
        ("wrong program header size", elf(phentsize: 32)),
        ("no program headers", elf(phnumOverride: 0)),
        ("absurd program header count", elf(phnumOverride: 60000)),
        ("program headers past the end", Array(elf(phnumOverride: 40).prefix(0x1000))),
        ("segment data past the end", elf(segments: [Segment(offset: 0x1000, address: 0x100_0000, fileSize: 1 << 20, memorySize: 1 << 20)])),
        ("segment offset past the end", elf(segments: [Segment(offset: 1 << 40, address: 0x100_0000, fileSize: 16, memorySize: 16)])),
        ("file size above memory size", elf(segments: [Segment(offset: 0x1000, address: 0x100_0000, fileSize: 256, memorySize: 16)])),
        ("segment beyond guest memory", elf(segments: [Segment(offset: 0x1000, address: 0x3FF_F000, fileSize: 256, memorySize: 0x2000)])),
        ("absurd segment size", elf(segments: [Segment(offset: 0x1000, address: 0x100_0000, fileSize: 256, memorySize: UInt64.max)])),
        ("address that wraps", elf(segments: [Segment(offset: 0x1000, address: UInt64.max - 0xFF, fileSize: 256, memorySize: 256)])),
        ("segment over the VMM's tables", elf(entry: 0x8000, segments: [Segment(offset: 0x1000, address: 0x8000, fileSize: 256, memorySize: 256)])),
        ("overlapping segments", elf(segments: [
            Segment(offset: 0x1000, address: 0x100_0000, fileSize: 256, memorySize: 0x2000),
            Segment(offset: 0x1000, address: 0x100_1000, fileSize: 256, memorySize: 0x2000),
        ])),
        ("no loadable segment", elf(segments: [Segment(type: 4, offset: 0x1000, address: 0x100_0000, fileSize: 256, memorySize: 256)])),
        ("entry outside every segment", elf(entry: 0x200_0000)),
        ("neither ELF nor bzImage", Array(repeating: 0x90, count: 0x1000)),
        ("bzImage without HdrS", { var b = [UInt8](repeating: 0, count: 0x2000); b[0x1FE] = 0x55; b[0x1FF] = 0xAA; return b }()),
        ("bzImage whose setup sectors pass the end", bzImage(setupSectors: 60, total: 0x2000)),
        ("bzImage from before 64-bit entry", bzImage(version: 0x0206)),
        ("bzImage without XLF_KERNEL_64", bzImage(xloadflags: 0)),
        ("bzImage too big for guest memory", bzImage(initSize: 0x7FFF_FFFF)),
        // Found by fuzz-bzimage-loader (Tests/FuzzInputs/bzimage-loader/crash-entry-past-kernel-end):
        // the 64-bit entry at 0x200 would be past the last byte of the kernel.
        ("bzImage whose kernel ends at its 64-bit entry", bzImage(total: 5 * 512 + 0x200)),
        ("bzImage whose kernel ends before its 64-bit entry", bzImage(setupSectors: 1, initSize: 0, total: 1536)),
    ]

    static func bzImage(setupSectors: UInt8 = 4, version: UInt16 = 0x020F, xloadflags: UInt8 = 1, initSize: UInt32 = 0x10_0000, total: Int = 0x4000) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: total)
        b[0x1F1] = setupSectors
        put(&b, UInt16(0xAA55), 0x1FE)
        b[0x201] = 0x6A
        put(&b, UInt32(0x5372_6448), 0x202)
        put(&b, version, 0x206)
        b[0x211] = 0x01
        b[0x236] = xloadflags
        put(&b, initSize, 0x260)
        return b
    }

    @Test(arguments: hostile.indices)
    func malformedKernelImageIsRefusedWithAClearError(_ index: Int) throws {
        let (what, bytes) = Self.hostile[index]
        #expect(throws: LinuxBootError.self, "\(what)") { _ = try Self.load(bytes) }
    }

    @Test func minimalBzImageLoadsAtOneMiBWithItsSetupHeaderInBootParams() throws {
        var image = Self.bzImage()
        image[5 * 512] = 0xF4
        let (loaded, memory) = try Self.load(image)
        #expect(loaded.entry == 0x10_0200)
        #expect(try memory.load(UInt8.self, at: 0x10_0000) == 0xF4)
        #expect(try memory.load(UInt16.self, at: loaded.bootParams + 0x206) == 0x020F)
        #expect(try memory.load(UInt8.self, at: loaded.bootParams + 0x210) == 0xFF)
    }

    @Test func overlongOrNULCommandLineIsRefused() throws {
        #expect(throws: LinuxBootError.self) { _ = try Self.load(Self.elf(), commandLine: String(repeating: "x", count: 4096)) }
        #expect(throws: LinuxBootError.self) { _ = try Self.load(Self.elf(), commandLine: "a\u{0}b") }
    }
}
