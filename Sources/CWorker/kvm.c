#include "bulkhead_kvm.h"

#include <sys/ioctl.h>

int bh_ioctl_value(int fd, unsigned long request, unsigned long value) { return ioctl(fd, request, value); }

const unsigned long bh_kvm_get_api_version = KVM_GET_API_VERSION;
const unsigned long bh_kvm_create_vm = KVM_CREATE_VM;
const unsigned long bh_kvm_get_vcpu_mmap_size = KVM_GET_VCPU_MMAP_SIZE;
const unsigned long bh_kvm_get_supported_cpuid = KVM_GET_SUPPORTED_CPUID;
const unsigned long bh_kvm_check_extension = KVM_CHECK_EXTENSION;
const unsigned long bh_kvm_create_vcpu = KVM_CREATE_VCPU;
const unsigned long bh_kvm_set_user_memory_region = KVM_SET_USER_MEMORY_REGION;
const unsigned long bh_kvm_set_tss_addr = KVM_SET_TSS_ADDR;
const unsigned long bh_kvm_create_irqchip = KVM_CREATE_IRQCHIP;
const unsigned long bh_kvm_create_pit2 = KVM_CREATE_PIT2;
const unsigned long bh_kvm_irq_line = KVM_IRQ_LINE;
const unsigned long bh_kvm_irqfd = KVM_IRQFD;
const unsigned long bh_kvm_run = KVM_RUN;
const unsigned long bh_kvm_set_regs = KVM_SET_REGS;
const unsigned long bh_kvm_get_sregs = KVM_GET_SREGS;
const unsigned long bh_kvm_set_sregs = KVM_SET_SREGS;
const unsigned long bh_kvm_set_cpuid2 = KVM_SET_CPUID2;
const unsigned long bh_kvm_set_mp_state = KVM_SET_MP_STATE;
const unsigned long bh_kvm_get_tsc_khz = KVM_GET_TSC_KHZ;
const unsigned long bh_kvm_ioctl_type = KVMIO;

uint32_t bh_kvm_run_exit_reason(const struct kvm_run *run) { return run->exit_reason; }

struct bh_kvm_io_exit bh_kvm_run_io(struct kvm_run *run) {
    struct bh_kvm_io_exit io = {
        .direction = run->io.direction,
        .size = run->io.size,
        .port = run->io.port,
        .count = run->io.count,
        .data = (uint8_t *)run + run->io.data_offset,
    };
    return io;
}

struct bh_kvm_mmio_exit bh_kvm_run_mmio(struct kvm_run *run) {
    struct bh_kvm_mmio_exit mmio = {
        .address = run->mmio.phys_addr,
        .data = run->mmio.data,
        .length = run->mmio.len,
        .is_write = run->mmio.is_write,
    };
    return mmio;
}

uint64_t bh_kvm_run_fail_entry_reason(const struct kvm_run *run) {
    return run->fail_entry.hardware_entry_failure_reason;
}
uint32_t bh_kvm_run_internal_suberror(const struct kvm_run *run) { return run->internal.suberror; }
uint32_t bh_kvm_run_system_event_type(const struct kvm_run *run) { return run->system_event.type; }
