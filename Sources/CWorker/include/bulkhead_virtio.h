// What the virtio devices need from C: KVM_IOEVENTFD (its request number is a function-like
// macro Swift cannot import) and ordered accesses to the rings the guest shares with us.
// Wrapped by Sources/KVM/IOEventFD.swift and Sources/Devices/Virtqueue.swift.
#ifndef BULKHEAD_VIRTIO_H
#define BULKHEAD_VIRTIO_H

#include <stdint.h>

/// KVM_IOEVENTFD on the VM fd: a guest write of `length` bytes to MMIO `address` signals
/// `eventfd` in the kernel instead of exiting to us. Returns ioctl's result or -errno.
int bh_kvm_mmio_ioeventfd(int vm_fd, uint64_t address, uint32_t length, int eventfd);

/// A 16-bit load the compiler may not move before later loads (acquire), for ring indices
/// the guest writes concurrently (virtio 1.2 §2.7.13.3: read idx, then the ring entries).
uint16_t bh_virtio_load16_acquire(const void *address);
/// A 16-bit store after every earlier store is visible (release), for the used index
/// (virtio 1.2 §2.7.8: write the used element, then publish idx).
void bh_virtio_store16_release(void *address, uint16_t value);
/// A full barrier: the used index is published before we read the driver's flags.
void bh_virtio_fence(void);

#endif
