import CWorker

/// What the VMM builds so a guest starts directly in 64-bit long mode: a GDT, a TSS whose
/// I/O permission bitmap opens every port, and 4-level page tables identity-mapping guest
/// memory with 2 MiB pages. No BIOS, no real mode.
///
/// `privilege: .user` starts the guest in ring 3 (CS/SS ring-3 selectors, RFLAGS.IOPL=3,
/// user-accessible pages). On PVM (kvm_pvm) ring-0 guest code is emulated an instruction at
/// a time, so a guest that needs no kernel runs all of its code in ring 3. Measured here:
/// PVM ignores RFLAGS.IOPL for ring-3 port I/O (the `out` raises #GP, a triple fault
/// without an IDT) but honours the TSS I/O permission bitmap, so both are set.
public struct LongMode: Sendable {
    public enum Privilege: Sendable { case kernel, user }

    /// Guest-physical addresses of the tables; they must lie inside guest memory and not
    /// overlap what the guest uses.
    public var gdtAddress: UInt64 = 0x1000
    public var tssAddress: UInt64 = 0x2000  // 104-byte TSS + 8 KiB I/O bitmap + end byte
    public var pml4Address: UInt64 = 0x9000
    /// PDPT follows the PML4; one page directory per GiB follows the PDPT.
    public static let maxMemory: UInt64 = 4 << 30

    public init() {}

    /// Selectors. Kernel code and data are the Linux 64-bit boot protocol's __BOOT_CS (0x10)
    /// and __BOOT_DS (0x18), so the same tables start a Linux kernel.
    static let kernelCode: UInt16 = 0x10, kernelData: UInt16 = 0x18
    static let userCode: UInt16 = 0x20 | 3, userData: UInt16 = 0x28 | 3
    static let taskState: UInt16 = 0x30
    static let tssLimit: UInt32 = 104 + 8192  // the TSS, its I/O bitmap, and the 0xFF end byte

    /// Writes the GDT, the TSS and the page tables into `memory`.
    public func writeTables(into memory: GuestMemory, privilege: Privilege) throws {
        guard UInt64(memory.size) <= Self.maxMemory else {
            throw KVMError.invalid("long-mode tables map at most 4 GiB of guest memory")
        }
        let tss = tssAddress
        let tl = UInt64(Self.tssLimit)
        let gdt: [UInt64] = [
            0,
            0,
            0x00AF_9B00_0000_FFFF,  // 0x10 ring-0 code, 64-bit
            0x00CF_9300_0000_FFFF,  // 0x18 ring-0 data
            0x00AF_FB00_0000_FFFF,  // 0x20 ring-3 code, 64-bit
            0x00CF_F300_0000_FFFF,  // 0x28 ring-3 data
            // 0x30 available 64-bit TSS (type 9), 16 bytes
            (tl & 0xFFFF) | ((tss & 0xFF_FFFF) << 16) | (0x89 << 40) | (((tl >> 16) & 0xF) << 48)
                | (((tss >> 24) & 0xFF) << 56),
            tss >> 32,
        ]
        for (i, d) in gdt.enumerated() { try memory.store(d, at: gdtAddress + UInt64(i * 8)) }
        // TSS: I/O map base (offset 102) points right after the 104-byte TSS; the bitmap's
        // zero bits allow every port; the byte after it must be all ones.
        try memory.write(repeatElement(0, count: 104 + 8192), at: tss)
        try memory.store(UInt16(104), at: tss + 102)
        try memory.store(UInt8(0xFF), at: tss + UInt64(Self.tssEnd))

        let user: UInt64 = privilege == .user ? 0x4 : 0
        let present: UInt64 = 0x1, writable: UInt64 = 0x2, large: UInt64 = 0x80
        let pdpt = pml4Address + 0x1000
        let gigabytes = max(1, (UInt64(memory.size) + (1 << 30) - 1) >> 30)
        try memory.write(repeatElement(0, count: Int(2 + gigabytes) * 4096), at: pml4Address)
        try memory.store(pdpt | present | writable | user, at: pml4Address)
        for g in 0..<gigabytes {
            let pd = pdpt + 0x1000 * (1 + g)
            try memory.store(pd | present | writable | user, at: pdpt + 8 * g)
            for e in 0..<UInt64(512) {
                let address = (g << 30) | (e << 21)
                guard address < UInt64(memory.size) else { break }
                try memory.store(address | present | writable | user | large, at: pd + 8 * e)
            }
        }
    }

    private static let tssEnd = 104 + 8192

    /// `sregs` (from KVM_GET_SREGS) switched to long mode with our tables, at `privilege`.
    public func specialRegisters(from sregs: kvm_sregs, privilege: Privilege) -> kvm_sregs {
        var s = sregs
        let ring: UInt8 = privilege == .user ? 3 : 0
        var code = kvm_segment()
        code.base = 0
        code.limit = 0xFFFF_FFFF
        code.selector = privilege == .user ? Self.userCode : Self.kernelCode
        code.type = 11  // execute/read, accessed
        code.present = 1
        code.dpl = ring
        code.s = 1
        code.l = 1
        code.g = 1
        var data = code
        data.selector = privilege == .user ? Self.userData : Self.kernelData
        data.type = 3  // read/write, accessed
        data.l = 0
        data.db = 1
        s.cs = code
        s.ds = data
        s.es = data
        s.fs = data
        s.gs = data
        s.ss = data
        var tr = kvm_segment()
        tr.base = tssAddress
        tr.limit = Self.tssLimit
        tr.selector = Self.taskState
        tr.type = 11  // busy 64-bit TSS
        tr.present = 1
        s.tr = tr
        s.gdt.base = gdtAddress
        s.gdt.limit = 8 * 8 - 1
        s.idt.base = 0
        s.idt.limit = 0
        s.cr0 = 0x8005_0033  // PE MP ET NE WP PG
        s.cr3 = pml4Address
        s.cr4 = 0x620  // PAE OSFXSR OSXMMEXCPT
        s.efer = 0x500  // LME LMA
        return s
    }

    /// Initial RFLAGS: reserved bit 1, and IOPL 3 for a ring-3 guest. Interrupts off.
    public func flags(privilege: Privilege) -> UInt64 { privilege == .user ? 0x3002 : 0x2 }
}
