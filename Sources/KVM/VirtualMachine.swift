import CWorker
import Glibc
import SystemPackage

/// A KVM VM fd: memory slots, vCPUs and the in-kernel interrupt controllers and timer.
public final class VirtualMachine: @unchecked Sendable {
    // Sendable: after set-up only KVM_IRQ_LINE is called, and the kernel serialises it.
    public let fd: FileDescriptor
    public let system: KVMSystem
    /// Regions registered so far, kept alive as long as the VM.
    public private(set) var memory: [GuestMemory] = []

    init(fd: FileDescriptor, system: KVMSystem) {
        self.fd = fd
        self.system = system
    }

    /// KVM_SET_USER_MEMORY_REGION: `memory` appears at `guestAddress` in memory slot `slot`.
    public func setMemory(_ memory: GuestMemory, at guestAddress: UInt64, slot: UInt32) throws {
        var region = kvm_userspace_memory_region(
            slot: slot, flags: 0, guest_phys_addr: guestAddress, memory_size: UInt64(memory.size),
            userspace_addr: UInt64(UInt(bitPattern: memory.base)))
        _ = try kvmIoctl(fd, bh_kvm_set_user_memory_region, "KVM_SET_USER_MEMORY_REGION", &region)
        self.memory.append(memory)
    }

    /// KVM_SET_TSS_ADDR: three pages of guest-physical space Intel's KVM keeps for itself
    /// (real-mode emulation). It must not overlap guest memory.
    public func setTSSAddress(_ address: UInt64) throws {
        _ = try kvmIoctl(fd, bh_kvm_set_tss_addr, "KVM_SET_TSS_ADDR", UInt(address))
    }

    /// KVM_CREATE_IRQCHIP: the in-kernel PIC pair, IOAPIC and a local APIC per vCPU.
    /// Call it before creating vCPUs.
    public func createIRQChip() throws {
        _ = try kvmIoctl(fd, bh_kvm_create_irqchip, "KVM_CREATE_IRQCHIP")
    }

    /// KVM_CREATE_PIT2: the in-kernel i8254 timer, with the PC speaker port left to a dummy.
    public func createPIT() throws {
        var config = kvm_pit_config()
        config.flags = UInt32(KVM_PIT_SPEAKER_DUMMY)
        _ = try kvmIoctl(fd, bh_kvm_create_pit2, "KVM_CREATE_PIT2", &config)
    }

    /// KVM_IRQ_LINE: drives interrupt line `irq` of the in-kernel irqchip high or low.
    public func setIRQLine(_ irq: UInt32, high: Bool) throws {
        var level = kvm_irq_level()
        level.irq = irq
        level.level = high ? 1 : 0
        _ = try kvmIoctl(fd, bh_kvm_irq_line, "KVM_IRQ_LINE", &level)
    }

    /// KVM_IRQFD: every write to `eventFD` pulses interrupt line `gsi` (an edge), so a
    /// device can interrupt the guest with a plain write(2) instead of an ioctl.
    public func attachIRQFD(_ eventFD: FileDescriptor, gsi: UInt32) throws {
        var irqfd = kvm_irqfd()
        irqfd.fd = UInt32(eventFD.rawValue)
        irqfd.gsi = gsi
        _ = try kvmIoctl(fd, bh_kvm_irqfd, "KVM_IRQFD", &irqfd)
    }

    /// KVM_CREATE_VCPU with `id` (also its APIC id), and the mmap of its kvm_run page.
    public func createVCPU(id: UInt32) throws -> VCPU {
        let size = try system.vcpuMmapSize()
        let vcpuFD = FileDescriptor(rawValue: try kvmIoctl(fd, bh_kvm_create_vcpu, "KVM_CREATE_VCPU", UInt(id)))
        let run = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpuFD.rawValue, 0)
        guard let run, run != MAP_FAILED else {
            let e = Errno.current
            try? vcpuFD.close()
            throw KVMError.system(call: "mmap(kvm_run)", errno: e)
        }
        return VCPU(id: id, fd: vcpuFD, run: run, runSize: size)
    }
}
