import CWorker
import Sandbox
import Testing

/// The seccomp profiles compare ioctl requests against hand-written numbers
/// (Sources/Sandbox/Profiles/KernelConstants.swift); these come from <linux/kvm.h>.
@Suite struct KernelConstantsTests {
    @Test func kvmRequestNumbersInProfilesMatchLinuxKVMHeader() {
        #expect(KernelConstant.kvmRun == UInt64(bh_kvm_run))
        #expect(KernelConstant.kvmSetRegs == UInt64(bh_kvm_set_regs))
        #expect(KernelConstant.kvmSetSregs == UInt64(bh_kvm_set_sregs))
    }

    @Test func kvmIoctlTypeInProfilesIsKVMIO() {
        #expect(KernelConstant.kvmIoctlType == UInt64(bh_kvm_ioctl_type) << 8)
        let requests = [
            bh_kvm_get_api_version, bh_kvm_create_vm, bh_kvm_get_vcpu_mmap_size, bh_kvm_get_supported_cpuid,
            bh_kvm_create_vcpu, bh_kvm_set_user_memory_region, bh_kvm_set_tss_addr, bh_kvm_create_irqchip,
            bh_kvm_create_pit2, bh_kvm_irq_line, bh_kvm_run, bh_kvm_set_cpuid2, bh_kvm_set_mp_state,
            bh_kvm_get_tsc_khz,
        ]
        for request in requests {
            #expect(UInt64(request) & KernelConstant.ioctlTypeMask == KernelConstant.kvmIoctlType)
        }
    }
}
