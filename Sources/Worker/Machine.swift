import CWorker
import Devices
import Glibc
import KVM
import SystemPackage
import TestGuest

/// The VM as the main thread builds it before any thread starts: memory with the test
/// guest (its boot information, ring 3) or a Linux kernel (boot_params, ring 0), long-mode
/// tables, the in-kernel irqchip and PIT, and one vCPU per `--cpus`.
struct Machine {
    let vm: VirtualMachine
    let memory: GuestMemory
    let vcpus: [VCPU]
    let tscKHz: UInt64
    /// irqfd for the UART's IRQ 4: a vCPU thread (THR empty) or the io thread (received data)
    /// interrupts the guest with a write(2).
    let serialInterrupt: FileDescriptor
    /// virtio-mmio devices in the DeviceWindow; their queue work runs on the io thread.
    let virtio: VirtioDevices
    /// Each vCPU's registers as it was started, for `reset` (ResetRequest).
    let initialRegisters: [(regs: kvm_regs, sregs: kvm_sregs)]
    /// How the test guest's low memory was loaded: what `reset` writes again. Nil for Linux.
    let testGuestLoad: TestGuestLoad?

    /// Guest-physical address for KVM's private TSS pages (Intel), above 4 GiB of RAM space.
    static let kvmTSSAddress: UInt64 = 0xFFFB_D000

    init(kvm: KVMSystem, options: WorkerOptions) throws {
        vm = try kvm.createVM()
        memory = try GuestMemory(size: options.memoryMiB << 20)
        try vm.setMemory(memory, at: 0, slot: 0)
        try vm.setTSSAddress(Self.kvmTSSAddress)
        try vm.createIRQChip()
        try vm.createPIT()
        let irqfd = bh_eventfd_cloexec(0)
        guard irqfd >= 0 else { throw KVMError.system(call: "eventfd", errno: Errno(rawValue: -irqfd)) }
        serialInterrupt = FileDescriptor(rawValue: irqfd)
        try vm.attachIRQFD(serialInterrupt, gsi: SerialPort.irq)
        virtio = try VirtioDevices(vm: vm, memory: memory, disks: options.disks, taps: options.taps)

        let longMode = LongMode()
        let privilege: LongMode.Privilege
        let entry: UInt64, startArgument: UInt64
        if let kernelFD = options.kernelFD {
            // Linux runs its own kernel in ring 0 (emulated on PVM, so slow here).
            privilege = .kernel
            try longMode.writeTables(into: memory, privilege: .kernel)
            let loaded = try LinuxBoot.load(
                kernel: KernelFile(fd: kernelFD),
                initrd: options.initrdFD.map { try KernelFile(fd: $0) },
                commandLine: options.append + virtio.linuxCommandLine, into: memory)
            (entry, startArgument) = (loaded.entry, loaded.bootParams)
        } else {
            privilege = .user  // its memory is written once vCPU 0's TSC frequency is known (TestGuestLoad)
            (entry, startArgument) = (TestGuest.Layout.imageAddress, TestGuest.Layout.bootInfoAddress)
        }

        let cpuid = try kvm.supportedCPUID().hiding(options.hiddenCPUID)
        var vcpus: [VCPU] = []
        var initial: [(regs: kvm_regs, sregs: kvm_sregs)] = []
        var tscKHz: UInt64 = 0
        for index in 0..<options.cpus {
            let vcpu = try vm.createVCPU(id: UInt32(index))
            try vcpu.setCPUID(cpuid.forVCPU(apicID: UInt32(index), count: UInt32(options.cpus)))
            try vcpu.setSpecialRegisters(longMode.specialRegisters(from: vcpu.specialRegisters(), privilege: privilege))
            var regs = kvm_regs()
            regs.rip = entry
            regs.rflags = longMode.flags(privilege: privilege)
            regs.rdi = UInt64(index)
            regs.rsi = startArgument
            try vcpu.setRegisters(regs)
            initial.append((regs, try vcpu.specialRegisters()))
            // The test guest's APs enter at our registers (no INIT/SIPI); Linux's APs wait
            // for the INIT/SIPI its SMP bring-up sends through the in-kernel local APIC.
            if index > 0 && options.kernelFD == nil { try vcpu.makeRunnable() }
            if index == 0 { tscKHz = try vcpu.tscKHz() }
            vcpus.append(vcpu)
        }
        self.vcpus = vcpus
        self.tscKHz = tscKHz
        self.initialRegisters = initial
        guard options.kernelFD == nil else {
            testGuestLoad = nil
            return
        }
        let load = TestGuestLoad(cpus: options.cpus, cmdline: Array(options.cmdline.utf8), tscKHz: tscKHz)
        try load.write(into: memory)
        testGuestLoad = load
    }
}
