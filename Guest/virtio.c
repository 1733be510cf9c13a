/* Polling virtio-blk driver for the test guest (virtio 1.2 §4.2 MMIO, §2.7 split queues,
 * §5.2 block). Everything runs in ring 3: registers are user-mapped MMIO (each access is a
 * VM exit), rings and buffers are ordinary memory. Exits are the cost, so requests go in
 * batches with one QueueNotify each (an ioeventfd: no exit to userspace), and the driver
 * polls the used ring instead of taking interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT).
 * Steps: blk-sha256=N, blk-write=N, blk-read=N,MIB. */
#include "guest.h"

#define REG(base, off) (*(volatile uint32_t *)((base) + (off)))
enum { MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014,
       DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034,
       QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, STATUS = 0x070, QUEUE_DESC = 0x080,
       QUEUE_DRIVER = 0x090, QUEUE_DEVICE = 0x0a0, CONFIG = 0x100 };
enum { S_ACK = 1, S_DRIVER = 2, S_DRIVER_OK = 4, S_FEATURES_OK = 8, S_NEEDS_RESET = 0x40 };
enum { F_NEXT = 1, F_WRITE = 2 };
enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4 };

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[]; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[]; };
struct blk_header { uint32_t type, reserved; uint64_t sector; };

#define QSIZE 256
#define CHUNK (1u << 20)   /* bytes per request */
#define MAX_BATCH 64       /* requests per notification (3 descriptors each) */

static struct desc *const descs = (struct desc *)VIRTQ_AREA_ADDR;
static struct avail *const avail = (struct avail *)(VIRTQ_AREA_ADDR + 0x1000);
static struct used *const used = (struct used *)(VIRTQ_AREA_ADDR + 0x2000);
static struct blk_header *const headers = (struct blk_header *)(VIRTQ_AREA_ADDR + 0x4000);
static volatile uint8_t *const statuses = (uint8_t *)(VIRTQ_AREA_ADDR + 0x5000);
static uint8_t *const data = (uint8_t *)DATA_AREA_ADDR;

struct blk { uintptr_t base; uint64_t sectors; int read_only; uint16_t next_avail; };

static void zero(void *p, uint64_t n) { for (uint8_t *b = p; n--; ) *b++ = 0; }

static void put_hex8(uint8_t v) { putc("0123456789abcdef"[v >> 4]); putc("0123456789abcdef"[v & 15]); }

/* Finds the n-th virtio-blk device and brings it up (§3.1.1) with one queue. */
static int blk_open(int64_t n, struct blk *b) {
    int64_t seen = 0;
    for (int slot = 0; slot < VIRTIO_MMIO_SLOTS; slot++) {
        uintptr_t base = VIRTIO_MMIO_BASE + (uintptr_t)slot * VIRTIO_MMIO_STRIDE;
        if (REG(base, MAGIC) != 0x74726976 || REG(base, VERSION) != 2) break;
        if (REG(base, DEVICE_ID) != 2 || seen++ != n) continue;
        REG(base, STATUS) = 0;
        REG(base, STATUS) = S_ACK;
        REG(base, STATUS) = S_ACK | S_DRIVER;
        REG(base, DEVICE_FEATURES_SEL) = 0;
        uint32_t low = REG(base, DEVICE_FEATURES);
        REG(base, DEVICE_FEATURES_SEL) = 1;
        if (!(REG(base, DEVICE_FEATURES) & 1)) return 0;  /* VIRTIO_F_VERSION_1 */
        REG(base, DRIVER_FEATURES_SEL) = 0;
        REG(base, DRIVER_FEATURES) = 0;
        REG(base, DRIVER_FEATURES_SEL) = 1;
        REG(base, DRIVER_FEATURES) = 1;
        REG(base, STATUS) = S_ACK | S_DRIVER | S_FEATURES_OK;
        if (!(REG(base, STATUS) & S_FEATURES_OK)) return 0;
        REG(base, QUEUE_SEL) = 0;
        if (REG(base, QUEUE_NUM_MAX) < QSIZE) return 0;
        zero((void *)VIRTQ_AREA_ADDR, 0x6000);
        avail->flags = 1;  /* VIRTQ_AVAIL_F_NO_INTERRUPT: we poll */
        REG(base, QUEUE_NUM) = QSIZE;
        REG(base, QUEUE_DESC) = (uint32_t)(uintptr_t)descs;
        REG(base, QUEUE_DESC + 4) = 0;
        REG(base, QUEUE_DRIVER) = (uint32_t)(uintptr_t)avail;
        REG(base, QUEUE_DRIVER + 4) = 0;
        REG(base, QUEUE_DEVICE) = (uint32_t)(uintptr_t)used;
        REG(base, QUEUE_DEVICE + 4) = 0;
        REG(base, QUEUE_READY) = 1;
        REG(base, STATUS) = S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK;
        b->base = base;
        b->sectors = REG(base, CONFIG) | (uint64_t)REG(base, CONFIG + 4) << 32;
        b->read_only = (low >> 5) & 1;  /* VIRTIO_BLK_F_RO */
        b->next_avail = 0;
        return 1;
    }
    return 0;
}

/* `bytes` at `sector` in requests of at most CHUNK, data at `buffer` (or every request at
 * the same `buffer` when `reuse`), one notification; waits for all of them. Returns the
 * first non-zero status, 0 when all succeeded. */
static int blk_batch_at(struct blk *b, uint32_t type, uint64_t sector, uint8_t *buffer, uint64_t bytes, int reuse) {
    int count = 0;
    uint16_t start = b->next_avail;
    do {
        uint32_t len = bytes > CHUNK ? CHUNK : (uint32_t)bytes;
        uint16_t d = (uint16_t)(3 * count);
        headers[count] = (struct blk_header){type, 0, sector};
        statuses[count] = 0xff;
        descs[d] = (struct desc){(uint64_t)(uintptr_t)&headers[count], 16, F_NEXT, (uint16_t)(d + 1)};
        if (len) {
            descs[d + 1] = (struct desc){(uint64_t)(uintptr_t)buffer, len, (uint16_t)(F_NEXT | (type == T_IN ? F_WRITE : 0)), (uint16_t)(d + 2)};
        } else {
            descs[d].next = (uint16_t)(d + 2);
        }
        descs[d + 2] = (struct desc){(uint64_t)(uintptr_t)&statuses[count], 1, F_WRITE, 0};
        avail->ring[(uint16_t)(start + count) % QSIZE] = d;
        count++;
        if (!reuse) buffer += len;
        sector += len / 512;
        bytes -= len;
    } while (bytes && count < MAX_BATCH);
    b->next_avail = (uint16_t)(start + count);
    __atomic_store_n(&avail->idx, b->next_avail, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    REG(b->base, QUEUE_NOTIFY) = 0;
    uint64_t deadline = rdtsc() + boot->tsc_khz * 10000;
    while (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) != b->next_avail) {
        if (rdtsc() > deadline) {
            puts("error: virtio-blk did not answer; device status ");
            putu(REG(b->base, STATUS));
            putc('\n');
            poweroff(1);
        }
        pause();
    }
    for (int i = 0; i < count; i++) if (statuses[i]) return statuses[i];
    return bytes ? -1 : 0;  /* -1: more than one batch was asked for */
}

static int blk_batch(struct blk *b, uint32_t type, uint64_t sector, uint8_t *buffer, uint64_t bytes) {
    return blk_batch_at(b, type, sector, buffer, bytes, 0);
}

static uint64_t batch_bytes(void) {
    uint64_t room = boot->memory_bytes > DATA_AREA_ADDR ? boot->memory_bytes - DATA_AREA_ADDR : 0;
    uint64_t n = room / CHUNK;
    if (n > MAX_BATCH) n = MAX_BATCH;
    return n * CHUNK;
}

static void open_or_fail(int64_t n, struct blk *b, struct word value) {
    if (!blk_open(n, b)) fail("no such virtio-blk disk", value);
    if (batch_bytes() == 0) fail("guest memory too small for blk buffers", value);
}

static void step_blk_sha256(int64_t n, struct word value) {
    struct blk b;
    open_or_fail(n, &b, value);
    struct sha256 s;
    sha256_init(&s);
    uint64_t total = b.sectors * 512, done = 0;
    while (done < total) {
        uint64_t len = total - done < batch_bytes() ? total - done : batch_bytes();
        int status = blk_batch(&b, T_IN, done / 512, data, len);
        if (status) { puts("error: blk read status "); putu((uint64_t)status); putc('\n'); poweroff(1); }
        sha256_update(&s, data, len);
        done += len;
    }
    uint8_t digest[32];
    sha256_final(&s, digest);
    puts("blk ");
    putu((uint64_t)n);
    puts(" sha256 ");
    for (int i = 0; i < 32; i++) put_hex8(digest[i]);
    putc('\n');
}

/* The pattern blk-write puts in the first MiB (Tests/WorkerTests mirrors it). */
static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 7 + (i >> 10)); }

static void step_blk_write(int64_t n, struct word value) {
    struct blk b;
    open_or_fail(n, &b, value);
    uint64_t len = b.sectors * 512 < CHUNK ? b.sectors * 512 : CHUNK;
    for (uint64_t i = 0; i < len; i++) data[i] = pattern(i);
    int status = blk_batch(&b, T_OUT, 0, data, len);
    int flush = blk_batch(&b, T_FLUSH, 0, data, 0);
    puts("blk ");
    putu((uint64_t)n);
    puts(b.read_only ? " (read-only) write " : " write ");
    putu(len);
    puts(" bytes: status ");
    putu((uint64_t)status);
    puts(", flush status ");
    putu((uint64_t)flush);
    putc('\n');
}

static void step_blk_read(int64_t n, int64_t mib, struct word value) {
    struct blk b;
    open_or_fail(n, &b, value);
    uint64_t total = (uint64_t)mib << 20, disk = b.sectors * 512, done = 0, position = 0;
    if (disk < CHUNK) fail("disk smaller than 1 MiB", value);
    uint64_t start = rdtsc();
    while (done < total) {
        uint64_t len = total - done < batch_bytes() ? total - done : batch_bytes();
        if (position + len > disk) position = 0;
        if (len > disk) len = disk - disk % CHUNK;
        /* Like dd: every request lands in the same 1 MiB buffer, the data is not used. */
        int status = blk_batch_at(&b, T_IN, position / 512, data, len, 1);
        if (status) { puts("error: blk read status "); putu((uint64_t)status); putc('\n'); poweroff(1); }
        done += len;
        position += len;
    }
    uint64_t us = (rdtsc() - start) * 1000 / boot->tsc_khz;
    if (us == 0) us = 1;
    puts("blk ");
    putu((uint64_t)n);
    puts(" read ");
    putu((uint64_t)mib);
    puts(" MiB in ");
    putu(us);
    puts(" us: ");
    putu(total / us);
    puts(" MB/s\n");
}

/* blk-hostile=N,KIND: one hostile chain (what a compromised guest driver could post), then
 * the device status it caused; then a reset and an honest read, to show the device is
 * usable again. KIND: outside (buffer past guest memory), loop (a descriptor cycle),
 * jump (avail.idx moved by 1000), indirect (INDIRECT_DESC was not negotiated). */
static void step_blk_hostile(int64_t n, struct word kind, struct word value) {
    struct blk b;
    open_or_fail(n, &b, value);
    headers[0] = (struct blk_header){T_IN, 0, 0};
    descs[0] = (struct desc){(uint64_t)(uintptr_t)&headers[0], 16, F_NEXT, 1};
    descs[1] = (struct desc){(uint64_t)(uintptr_t)data, 512, F_NEXT | F_WRITE, 2};
    descs[2] = (struct desc){(uint64_t)(uintptr_t)&statuses[0], 1, F_WRITE, 0};
    uint16_t index = 1;
    if (equals(kind, "outside")) descs[1].addr = boot->memory_bytes - 256;
    else if (equals(kind, "loop")) descs[1] = (struct desc){(uint64_t)(uintptr_t)data, 512, F_NEXT | F_WRITE, 0};
    else if (equals(kind, "jump")) index = 1000;
    else if (equals(kind, "indirect")) descs[0] = (struct desc){(uint64_t)(uintptr_t)&descs[1], 32, 4, 0};
    else fail("unknown blk-hostile kind", kind);
    avail->ring[0] = 0;
    __atomic_store_n(&avail->idx, index, __ATOMIC_RELEASE);
    REG(b.base, QUEUE_NOTIFY) = 0;
    uint64_t deadline = rdtsc() + boot->tsc_khz * 2000;
    while (!(REG(b.base, STATUS) & S_NEEDS_RESET) && rdtsc() < deadline) {
        for (int i = 0; i < 1000; i++) pause();
    }
    uint32_t status = REG(b.base, STATUS);
    puts("blk ");
    putu((uint64_t)n);
    puts(" hostile ");
    for (uint32_t i = 0; i < kind.n; i++) putc(kind.p[i]);
    puts(": device status ");
    putu(status);
    puts(status & S_NEEDS_RESET ? " (DEVICE_NEEDS_RESET)" : "");
    if (!blk_open(n, &b)) fail("device did not come back after reset", value);
    puts(", after reset a read gets status ");
    putu((uint64_t)blk_batch(&b, T_IN, 0, data, 512));
    putc('\n');
}

int virtio_step(struct word step, struct word value) {
    int64_t n = 0, mib = 0;
    struct word size;
    if (equals(step, "blk-sha256")) {
        if (!number(value, &n) || n < 0) fail("malformed blk-sha256", value);
        step_blk_sha256(n, value);
    } else if (equals(step, "blk-write")) {
        if (!number(value, &n) || n < 0) fail("malformed blk-write", value);
        step_blk_write(n, value);
    } else if (equals(step, "blk-hostile")) {
        struct word disk = value, kind;
        if (!split(&disk, ',', &kind) || !number(disk, &n) || n < 0) fail("malformed blk-hostile", value);
        step_blk_hostile(n, kind, value);
    } else if (equals(step, "blk-read")) {
        struct word disk = value;
        if (!split(&disk, ',', &size) || !number(disk, &n) || n < 0 || !number(size, &mib) || mib <= 0 || mib > 1 << 20)
            fail("malformed blk-read", value);
        step_blk_read(n, mib, value);
    } else {
        return 0;
    }
    return 1;
}
