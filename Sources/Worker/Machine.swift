import CShim
import Glibc
import KVM
import SystemPackage
import TestGuest

/// The VM as the main thread builds it before any thread starts: memory with the test
/// guest, its boot information and long-mode tables, the in-kernel irqchip and PIT, and
/// one vCPU per `--cpus`, each ready to enter the guest in ring 3.
struct Machine {
    let vm: VirtualMachine
    let memory: GuestMemory
    let vcpus: [VCPU]
    let tscKHz: UInt64

    /// Guest-physical address for KVM's private TSS pages (Intel), above 4 GiB of RAM space.
    static let kvmTSSAddress: UInt64 = 0xFFFB_D000

    init(kvm: KVMSystem, options: WorkerOptions) throws {
        vm = try kvm.createVM()
        memory = try GuestMemory(size: options.memoryMiB << 20)
        try vm.setMemory(memory, at: 0, slot: 0)
        try vm.setTSSAddress(Self.kvmTSSAddress)
        try vm.createIRQChip()
        try vm.createPIT()

        let longMode = LongMode()
        try longMode.writeTables(into: memory, privilege: .user)
        try memory.write(TestGuest.image, at: TestGuest.Layout.imageAddress)

        let cpuid = try kvm.supportedCPUID()
        var vcpus: [VCPU] = []
        var tscKHz: UInt64 = 0
        for index in 0..<options.cpus {
            let vcpu = try vm.createVCPU(id: UInt32(index))
            try vcpu.setCPUID(cpuid.forVCPU(apicID: UInt32(index), count: UInt32(options.cpus)))
            try vcpu.setSpecialRegisters(longMode.specialRegisters(from: vcpu.specialRegisters(), privilege: .user))
            var regs = kvm_regs()
            regs.rip = TestGuest.Layout.imageAddress
            regs.rflags = longMode.flags(privilege: .user)
            regs.rdi = UInt64(index)
            regs.rsi = TestGuest.Layout.bootInfoAddress
            try vcpu.setRegisters(regs)
            if index > 0 { try vcpu.makeRunnable() }  // no INIT/SIPI: enter at our registers
            if index == 0 { tscKHz = try vcpu.tscKHz() }
            vcpus.append(vcpu)
        }
        self.vcpus = vcpus
        self.tscKHz = tscKHz

        // struct boot_info (Guest/layout.h), then the command line.
        let info = TestGuest.Layout.bootInfoAddress
        let cmdline = Array(options.cmdline.utf8)
        try memory.store(TestGuest.Layout.bootInfoMagic, at: info)
        try memory.store(UInt32(options.cpus), at: info + 4)
        try memory.store(UInt32(cmdline.count), at: info + 8)
        try memory.store(tscKHz, at: info + 16)
        try memory.store(UInt64(memory.size), at: info + 24)
        try memory.write(cmdline, at: TestGuest.Layout.cmdlineAddress)
    }
}
