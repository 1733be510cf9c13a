import CWorker
import Glibc
import KVM
import SystemPackage
import Testing

/// The KVM bindings on their own: memory bounds, long-mode tables, CPUID per vCPU.
@Suite struct KVMTests {
    @Test func guestMemoryRefusesAccessOutsideItself() throws {
        let memory = try GuestMemory(size: 1 << 20)
        #expect(memory.pointer(at: 0, count: 1 << 20) != nil)
        #expect(memory.pointer(at: 1, count: 1 << 20) == nil)
        #expect(memory.pointer(at: UInt64.max, count: 2) == nil)
        #expect(throws: KVMError.self) { try memory.store(UInt64(1), at: (1 << 20) - 4) }
    }

    @Test func longModeTablesIdentityMapGuestMemoryForRing3() throws {
        let memory = try GuestMemory(size: 6 << 20)
        let longMode = LongMode()
        try longMode.writeTables(into: memory, privilege: .user)
        let pml4 = try memory.load(UInt64.self, at: longMode.pml4Address)
        #expect(pml4 & 0x7 == 0x7)  // present, writable, user
        let pdpt = pml4 & ~0xFFF
        let pd = try memory.load(UInt64.self, at: pdpt) & ~0xFFF
        for i in 0..<3 {
            try #expect(memory.load(UInt64.self, at: pd + UInt64(8 * i)) == UInt64(i) << 21 | 0x87)
        }
        try #expect(memory.load(UInt64.self, at: pd + 24) == 0)  // nothing past guest memory
        // Every port open in the TSS I/O bitmap (PVM ignores IOPL but honours the bitmap).
        try #expect(memory.load(UInt16.self, at: longMode.tssAddress + 102) == 104)
        try #expect(memory.load(UInt64.self, at: longMode.tssAddress + 104) == 0)
    }

    @Test func cpuidCarriesEachVCPUsAPICIDAndCount() throws {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let kvm = try KVMSystem(fd: FileDescriptor(rawValue: fd))
        let table = try kvm.supportedCPUID().forVCPU(apicID: 3, count: 4)
        let leaf1 = try #require(table.entries.first { $0.function == 1 })
        #expect(leaf1.ebx >> 24 == 3)
        #expect((leaf1.ebx >> 16) & 0xFF == 4)
    }

    @Test func vmWithIRQChipPITAndVCPUIsBuiltFromAnInheritedFD() throws {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let vm = try KVMSystem(fd: FileDescriptor(rawValue: fd)).createVM()
        try vm.setMemory(GuestMemory(size: 4 << 20), at: 0, slot: 0)
        try vm.createIRQChip()
        try vm.createPIT()
        let vcpu = try vm.createVCPU(id: 0)
        try #expect(vcpu.tscKHz() > 0)
        try vm.setIRQLine(4, high: true)
        try vm.setIRQLine(4, high: false)
    }
}

@Suite struct CPUIDHidingTests {
    @Test func hiddenFeatureBitsAreClearedInTheirLeaf() throws {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let table = try KVMSystem(fd: FileDescriptor(rawValue: fd)).supportedCPUID()
        let hidden = table.hiding(["cx16", "xsave", "pdpe1gb"].compactMap(CPUIDFeature.init(named:)))
        let leaf1 = try #require(hidden.entries.first { $0.function == 1 })
        #expect(leaf1.ecx & (1 << 13) == 0)
        #expect(leaf1.ecx & (1 << 26) == 0)
        let extended = try #require(hidden.entries.first { $0.function == 0x8000_0001 })
        #expect(extended.edx & (1 << 26) == 0)
        // Everything else is untouched.
        let original1 = try #require(table.entries.first { $0.function == 1 })
        #expect(leaf1.ecx | (1 << 13) | (1 << 26) == original1.ecx | (1 << 13) | (1 << 26))
    }
}
