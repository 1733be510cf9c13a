#include "bulkhead_virtio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

int bh_kvm_mmio_ioeventfd(int vm_fd, uint64_t address, uint32_t length, int eventfd) {
    struct kvm_ioeventfd request;
    memset(&request, 0, sizeof request);
    request.addr = address;
    request.len = length;
    request.fd = eventfd;
    return ioctl(vm_fd, KVM_IOEVENTFD, &request) < 0 ? -errno : 0;
}

uint16_t bh_virtio_load16_acquire(const void *address) {
    return __atomic_load_n((const uint16_t *)address, __ATOMIC_ACQUIRE);
}

void bh_virtio_store16_release(void *address, uint16_t value) {
    __atomic_store_n((uint16_t *)address, value, __ATOMIC_RELEASE);
}

void bh_virtio_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
