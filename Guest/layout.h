/* The contract between the VMM (Sources/KVM/GuestLayout.swift) and the test guest:
 * guest-physical addresses the VMM fills before the first KVM_RUN, and the ports the
 * guest talks to. Guest memory is identity-mapped, so these are also guest pointers. */
#ifndef BULKHEAD_GUEST_LAYOUT_H
#define BULKHEAD_GUEST_LAYOUT_H

#define BOOT_INFO_ADDR 0x5000UL      /* struct boot_info */
#define BOOT_INFO_MAGIC 0x47544842U  /* "BHTG" */
#define CMDLINE_ADDR 0x5100UL        /* the command line, not NUL-terminated */
#define CMDLINE_MAX 3840             /* bytes, enforced by the VMM */
#define IMAGE_ADDR 0x100000UL        /* where the flat image is loaded; its entry point */
#define MAX_CPUS 32                  /* one 16 KiB stack each in .bss */

#define PORT_UART 0x3f8       /* 16550: THR (write), RBR (read), LSR at +5 */
#define PORT_POWEROFF 0x501   /* outb status: the guest powers off (isa-debug-exit style) */
#define PORT_PARK 0x502       /* outb: this vCPU has nothing more to do */
#define PORT_NULL 0x503       /* outb: an exit that does nothing (exits=N) */
#define PORT_ESCAPE 0x510     /* outl address of struct escape_request: run on the vCPU thread */
#define PORT_ESCAPE_IO 0x511  /* the same, handed to the io thread */

/* virtio-mmio devices (Sources/Worker/VirtioDevices.swift): slot i at BASE + i * STRIDE,
 * disks first in --disk-fd order. The VMM maps this window user-accessible. */
#define VIRTIO_MMIO_BASE 0xD0000000UL
#define VIRTIO_MMIO_STRIDE 0x1000UL
#define VIRTIO_MMIO_SLOTS 8
#define VIRTQ_AREA_ADDR 0x300000UL  /* the guest's rings, request headers and status bytes */
#define DATA_AREA_ADDR 0x800000UL   /* request data buffers, up to the end of guest memory */
#define NET_AREA_ADDR 0x310000UL    /* virtio-net rings: receive at +0, transmit at +0x4000 */
#define NET_BUFFERS_ADDR 0x400000UL /* virtio-net frame buffers, 2 KiB each */

#ifndef __ASSEMBLER__
#include <stdint.h>
struct boot_info {
    uint32_t magic;
    uint32_t cpus;
    uint32_t cmdline_len;
    uint32_t reserved;
    uint64_t tsc_khz;
    uint64_t memory_bytes;
    uint32_t stop_request; /* set to 1 by the VMM: please power off (tick polls it) */
};

/* The escape probe (Sources/Devices/EscapeRequest.swift). kinds[i] says how args[i] is
 * passed: a number as is, or a guest-physical address of lengths[i] bytes that the VMM
 * checks lie inside guest RAM (a string must also hold its NUL there) and then passes as
 * the host address of those bytes. */
#define ESCAPE_ARG_NUMBER 0
#define ESCAPE_ARG_BYTES 1
#define ESCAPE_ARG_STRING 2

/* `done`, written by the VMM after `result`. When refused, no syscall was made and
 * `result` is the index of the argument refused. */
#define ESCAPE_PERFORMED 1       /* `result` holds the syscall's answer */
#define ESCAPE_OUTSIDE_RAM 2     /* a pointer argument: empty, past guest RAM, or wrapping */
#define ESCAPE_NO_NUL 3          /* a string argument without a NUL inside its length */
#define ESCAPE_UNKNOWN_KIND 4

struct escape_request {
    int64_t number;
    int64_t args[6];
    int64_t result;
    uint32_t done;
    uint32_t reserved;
    uint8_t kinds[8];     /* ESCAPE_ARG_* for args[0..5]; [6] and [7] are padding */
    uint64_t lengths[6];  /* bytes behind a pointer argument */
};  /* 128 bytes */
#endif
#endif
