// KVM for Swift: the request numbers of linux/kvm.h (function-like _IO/_IOR/_IOW macros are
// not imported, so they are exported here as constants computed by the C compiler) and
// accessors for the fields of struct kvm_run that sit in anonymous unions.
// Wrapped by the typed Swift of the KVM library; nothing else should need it.
#ifndef BULKHEAD_KVM_H
#define BULKHEAD_KVM_H

#include <linux/kvm.h>
#include <stdint.h>

// System (/dev/kvm) requests.
extern const unsigned long bh_kvm_get_api_version;
extern const unsigned long bh_kvm_create_vm;
extern const unsigned long bh_kvm_get_vcpu_mmap_size;
extern const unsigned long bh_kvm_get_supported_cpuid;
extern const unsigned long bh_kvm_check_extension;
// VM requests.
extern const unsigned long bh_kvm_create_vcpu;
extern const unsigned long bh_kvm_set_user_memory_region;
extern const unsigned long bh_kvm_set_tss_addr;
extern const unsigned long bh_kvm_create_irqchip;
extern const unsigned long bh_kvm_create_pit2;
extern const unsigned long bh_kvm_irq_line;
extern const unsigned long bh_kvm_irqfd;
// vCPU requests.
extern const unsigned long bh_kvm_run;
extern const unsigned long bh_kvm_set_regs;
extern const unsigned long bh_kvm_get_sregs;
extern const unsigned long bh_kvm_set_sregs;
extern const unsigned long bh_kvm_set_cpuid2;
extern const unsigned long bh_kvm_set_mp_state;
extern const unsigned long bh_kvm_get_tsc_khz;
/// The ioctl type byte every KVM request carries (KVMIO).
extern const unsigned long bh_kvm_ioctl_type;

/// ioctl(fd, request, value) with an integer argument passed as unsigned long, exactly as the
/// kernel reads it (the Swift overload takes an Int32). Returns ioctl's result; errno is set.
int bh_ioctl_value(int fd, unsigned long request, unsigned long value);

/// The port I/O exit of a kvm_run (KVM_EXIT_IO): `data` points into the kvm_run mapping.
struct bh_kvm_io_exit {
    uint8_t direction;  // KVM_EXIT_IO_IN or KVM_EXIT_IO_OUT
    uint8_t size;       // 1, 2 or 4 bytes per access
    uint16_t port;
    uint32_t count;     // accesses (string instructions repeat)
    uint8_t *data;
};
/// The MMIO exit of a kvm_run (KVM_EXIT_MMIO): `data` points into the kvm_run mapping.
struct bh_kvm_mmio_exit {
    uint64_t address;
    uint8_t *data;
    uint32_t length;
    uint8_t is_write;
};

uint32_t bh_kvm_run_exit_reason(const struct kvm_run *run);
struct bh_kvm_io_exit bh_kvm_run_io(struct kvm_run *run);
struct bh_kvm_mmio_exit bh_kvm_run_mmio(struct kvm_run *run);
/// fail_entry.hardware_entry_failure_reason (KVM_EXIT_FAIL_ENTRY).
uint64_t bh_kvm_run_fail_entry_reason(const struct kvm_run *run);
/// internal.suberror (KVM_EXIT_INTERNAL_ERROR).
uint32_t bh_kvm_run_internal_suberror(const struct kvm_run *run);
/// system_event.type (KVM_EXIT_SYSTEM_EVENT).
uint32_t bh_kvm_run_system_event_type(const struct kvm_run *run);

#endif
