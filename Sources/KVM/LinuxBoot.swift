import Vocabulary

/// Loading a Linux kernel for its 64-bit entry point: an ELF `vmlinux` (its PT_LOAD segments
/// at their physical addresses, entry = e_entry, as Firecracker does) or a `bzImage` through
/// the x86 boot protocol (Documentation/arch/x86/boot.rst: protected-mode kernel at 1 MiB,
/// 64-bit entry 0x200 past it). Either way the VMM writes boot_params (the "zero page") with
/// an e820 map, the command line and the initrd, and starts the vCPU in long mode, ring 0,
/// with %rsi pointing at boot_params.
///
/// Every number in the image is hostile until checked: truncated headers, segments outside
/// guest memory or overlapping each other or our own tables, absurd sizes and counts are
/// refused with a `LinuxBootError` before anything is copied.
public enum LinuxBoot {
    /// Guest-physical layout below 1 MiB (the long-mode tables sit at 0x1000–0xEFFF).
    public static let bootParamsAddress: UInt64 = 0x7000
    public static let commandLineAddress: UInt64 = 0x20000
    public static let commandLineMax = VMLimits.linuxCommandLineSize
    /// Where a bzImage's protected-mode kernel goes, and the lowest address a vmlinux
    /// segment may use (everything below belongs to the VMM's tables and boot_params).
    public static let kernelMinimumAddress: UInt64 = 0x10_0000
    /// RAM the e820 map offers stops below the 32-bit MMIO hole (IOAPIC, local APIC).
    public static let ramLimit = VMLimits.ramLimit
    /// Less cannot hold boot_params, the page tables, the kernel and its bss.
    public static let minimumMemoryMiB = 32

    public struct Loaded: Equatable, Sendable {
        public let entry: UInt64
        public let bootParams: UInt64
        /// Highest guest-physical byte (exclusive) the kernel image occupies.
        public let kernelEnd: UInt64
    }

    /// Loads `kernel` (vmlinux or bzImage), `initrd` and `commandLine` into `memory`.
    public static func load(
        kernel: some KernelImage, initrd: (some KernelImage)?, commandLine: String, into memory: GuestMemory
    ) throws -> Loaded {
        let cmdline = Array(commandLine.utf8)
        guard cmdline.count < commandLineMax, !cmdline.contains(0) else {
            throw LinuxBootError.invalid("the kernel command line is \(cmdline.count) bytes; at most \(commandLineMax - 1), no NUL")
        }
        guard memory.size >= minimumMemoryMiB << 20 else {
            throw LinuxBootError.invalid("a Linux guest needs at least \(minimumMemoryMiB) MiB")
        }
        var zeroPage = [UInt8](repeating: 0, count: 4096)
        let head = try kernel.bytes(at: 0, count: Int(min(kernel.size, 4)))
        let entry: UInt64, kernelEnd: UInt64
        if head == [0x7F, 0x45, 0x4C, 0x46] {
            (entry, kernelEnd) = try ELFKernel.load(kernel, into: memory)
            zeroPage.put(UInt16(0xAA55), at: 0x1FE)  // boot_flag
            zeroPage.put(UInt32(0x5372_6448), at: 0x202)  // "HdrS"
            zeroPage.put(UInt16(0x020F), at: 0x206)  // protocol version
            zeroPage.put(UInt32(0x0100_0000), at: 0x230)  // kernel_alignment
        } else {
            (entry, kernelEnd) = try BzImage.load(kernel, into: memory, zeroPage: &zeroPage)
        }
        zeroPage[0x210] = 0xFF  // type_of_loader: undefined
        zeroPage[0x211] |= 0x01  // loadflags: LOADED_HIGH
        try memory.write(cmdline + [0], at: commandLineAddress)
        zeroPage.put(UInt32(commandLineAddress), at: 0x228)  // cmd_line_ptr
        zeroPage.put(UInt32(commandLineMax), at: 0x238)  // cmdline_size

        let ramEnd = min(UInt64(memory.size), ramLimit)
        if let initrd {
            let size = initrd.size
            guard size > 0, size < ramEnd / 2 else { throw LinuxBootError.invalid("initrd of \(size) bytes does not fit") }
            let address = (ramEnd - size) & ~0xFFF
            guard address >= kernelEnd else { throw LinuxBootError.invalid("initrd would overlap the kernel") }
            guard let target = memory.pointer(at: address, count: Int(size)) else {
                throw KVMError.outsideGuestMemory(address: address, count: Int(size))
            }
            try initrd.read(into: UnsafeMutableRawBufferPointer(start: target, count: Int(size)), at: 0)
            zeroPage.put(UInt32(address), at: 0x218)  // ramdisk_image
            zeroPage.put(UInt32(size), at: 0x21C)  // ramdisk_size
        }

        // e820: conventional memory below the EBDA, then RAM from 1 MiB.
        let e820: [(UInt64, UInt64, UInt32)] = [(0, 0x9_FC00, 1), (0x10_0000, ramEnd - 0x10_0000, 1)]
        zeroPage[0x1E8] = UInt8(e820.count)
        for (i, (address, size, type)) in e820.enumerated() {
            let at = 0x2D0 + 20 * i
            zeroPage.put(address, at: at)
            zeroPage.put(size, at: at + 8)
            zeroPage.put(type, at: at + 16)
        }
        try memory.write(zeroPage, at: bootParamsAddress)
        return Loaded(entry: entry, bootParams: bootParamsAddress, kernelEnd: kernelEnd)
    }
}

/// Why a kernel image was refused.
public enum LinuxBootError: Error, Equatable, CustomStringConvertible {
    case notAKernel(String)
    case truncated(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notAKernel(let why): "not a Linux kernel image: \(why)"
        case .truncated(let why): "truncated kernel image: \(why)"
        case .invalid(let why): "invalid kernel image: \(why)"
        }
    }
}

/// ELF64 x86-64 `vmlinux`: PT_LOAD segments at p_paddr.
enum ELFKernel {
    static let maxSegments = 64

    static func load(_ image: some KernelImage, into memory: GuestMemory) throws -> (entry: UInt64, end: UInt64) {
        guard image.size >= 64 else { throw LinuxBootError.truncated("ELF header needs 64 bytes, image has \(image.size)") }
        let h = try image.bytes(at: 0, count: 64)
        guard h[4] == 2, h[5] == 1 else { throw LinuxBootError.notAKernel("not a little-endian ELF64 file") }
        guard h.u16(18) == 62 else { throw LinuxBootError.notAKernel("ELF machine \(h.u16(18)) is not x86-64") }
        guard h.u16(16) == 2 else { throw LinuxBootError.notAKernel("ELF type \(h.u16(16)) is not an executable") }
        let entry = h.u64(24), phoff = h.u64(32)
        let phentsize = Int(h.u16(54)), phnum = Int(h.u16(56))
        guard phentsize == 56 else { throw LinuxBootError.invalid("program header size \(phentsize), expected 56") }
        guard (1...maxSegments).contains(phnum) else { throw LinuxBootError.invalid("\(phnum) program headers") }
        guard phoff <= image.size, UInt64(phnum * 56) <= image.size - phoff else {
            throw LinuxBootError.truncated("program headers at \(phoff) run past the end of the file")
        }
        let table = try image.bytes(at: phoff, count: phnum * 56)

        var segments: [(offset: UInt64, address: UInt64, fileSize: UInt64, memorySize: UInt64)] = []
        for i in 0..<phnum {
            let p = Array(table[i * 56..<(i + 1) * 56])
            guard p.u32(0) == 1 else { continue }  // PT_LOAD only
            let s = (offset: p.u64(8), address: p.u64(24), fileSize: p.u64(32), memorySize: p.u64(40))
            guard s.fileSize <= s.memorySize else { throw LinuxBootError.invalid("segment \(i): file size exceeds memory size") }
            guard s.offset <= image.size, s.fileSize <= image.size - s.offset else {
                throw LinuxBootError.truncated("segment \(i) runs past the end of the file")
            }
            guard s.address >= LinuxBoot.kernelMinimumAddress, s.address <= UInt64(memory.size),
                s.memorySize <= UInt64(memory.size) - s.address
            else {
                throw LinuxBootError.invalid("segment \(i) at 0x\(String(s.address, radix: 16)) (+\(s.memorySize)) is outside guest memory")
            }
            segments.append(s)
        }
        guard !segments.isEmpty else { throw LinuxBootError.invalid("no loadable segment") }
        let sorted = segments.sorted { $0.address < $1.address }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.address + a.memorySize > b.address {
            throw LinuxBootError.invalid("segments at 0x\(String(a.address, radix: 16)) and 0x\(String(b.address, radix: 16)) overlap")
        }
        // The entry point is e_entry's physical address: vmlinux links startup_64 at its
        // load address, so e_entry may be virtual; map it through the segment that holds it.
        guard let holder = sorted.first(where: { entry >= $0.address && entry < $0.address + $0.memorySize })
            ?? sorted.first(where: { entry & 0x7FFF_FFFF >= $0.address && entry & 0x7FFF_FFFF < $0.address + $0.memorySize })
        else { throw LinuxBootError.invalid("entry point 0x\(String(entry, radix: 16)) is in no segment") }
        let physicalEntry = entry >= holder.address && entry < holder.address + holder.memorySize ? entry : entry & 0x7FFF_FFFF

        for s in sorted {
            let target = memory.pointer(at: s.address, count: Int(s.memorySize))!
            try image.read(into: UnsafeMutableRawBufferPointer(start: target, count: Int(s.fileSize)), at: s.offset)
            (target + Int(s.fileSize)).initializeMemory(as: UInt8.self, repeating: 0, count: Int(s.memorySize - s.fileSize))
        }
        return (physicalEntry, sorted.map { $0.address + $0.memorySize }.max()!)
    }
}

/// bzImage: the setup header at 0x1F1, the protected-mode kernel after the setup sectors.
enum BzImage {
    static func load(_ image: some KernelImage, into memory: GuestMemory, zeroPage: inout [UInt8]) throws -> (entry: UInt64, end: UInt64) {
        guard image.size >= 0x250 else { throw LinuxBootError.notAKernel("neither ELF nor a bzImage (\(image.size) bytes)") }
        let h = try image.bytes(at: 0, count: 0x280 <= image.size ? 0x280 : 0x250)
        guard h.u16(0x1FE) == 0xAA55, h.u32(0x202) == 0x5372_6448 else {
            throw LinuxBootError.notAKernel("no ELF magic and no bzImage setup header")
        }
        let version = h.u16(0x206)
        guard version >= 0x020C, h.count >= 0x268 else { throw LinuxBootError.invalid("boot protocol \(String(version, radix: 16)) has no 64-bit entry") }
        guard h[0x236] & 0x01 != 0 else { throw LinuxBootError.invalid("kernel has no 64-bit entry point (XLF_KERNEL_64)") }
        guard h[0x211] & 0x01 != 0 else { throw LinuxBootError.invalid("kernel is not a bzImage (LOADED_HIGH unset)") }
        let setupSectors = UInt64(h[0x1F1] == 0 ? 4 : h[0x1F1])
        let kernelOffset = (setupSectors + 1) * 512
        guard kernelOffset < image.size else { throw LinuxBootError.truncated("setup sectors run past the end of the file") }
        let kernelSize = image.size - kernelOffset
        // The 64-bit entry is 0x200 into the protected-mode kernel: it must be one of its bytes.
        guard kernelSize > 0x200 else {
            throw LinuxBootError.truncated("the protected-mode kernel is \(kernelSize) bytes; its 64-bit entry is at 0x200")
        }
        let initSize = UInt64(h.u32(0x260))
        let load = LinuxBoot.kernelMinimumAddress
        let footprint = max(kernelSize, initSize)
        guard footprint <= UInt64(memory.size) - load else {
            throw LinuxBootError.invalid("kernel needs \(footprint) bytes from 1 MiB; guest memory is \(memory.size)")
        }
        let target = memory.pointer(at: load, count: Int(kernelSize))!
        try image.read(into: UnsafeMutableRawBufferPointer(start: target, count: Int(kernelSize)), at: kernelOffset)
        // The setup header goes into boot_params as is (0x1F1 up to its declared end).
        let headerEnd = min(0x202 + Int(h[0x201]), h.count)
        for i in 0x1F1..<headerEnd { zeroPage[i] = h[i] }
        zeroPage[0x211] |= 0x80  // CAN_USE_HEAP
        zeroPage.put(UInt16(0xFE00), at: 0x224)  // heap_end_ptr
        return (load + 0x200, load + footprint)
    }
}

extension [UInt8] {
    func u16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
    func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }

    mutating func put<T: FixedWidthInteger>(_ value: T, at: Int) {
        for i in 0..<MemoryLayout<T>.size { self[at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
}
