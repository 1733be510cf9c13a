/* Polling virtio-net driver and a tiny IPv4 host for the test guest (virtio 1.2 §5.1):
 * answers ARP for its address, sends ICMP echo requests and answers ICMP echo requests and
 * UDP datagrams (echo). Ring 3, no interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT).
 * Steps: net-ip=A.B.C.D (the guest's address, default 10.0.2.15), net-ping=A.B.C.D,
 * net-echo=COUNT. */
#include "guest.h"

#define REG(base, off) (*(volatile uint32_t *)((base) + (off)))
enum { MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014,
       DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034,
       QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, STATUS = 0x070, QUEUE_DESC = 0x080,
       QUEUE_DRIVER = 0x090, QUEUE_DEVICE = 0x0a0, CONFIG = 0x100 };
enum { F_WRITE = 2 };

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[]; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[]; };

#define QSIZE 256
#define RX_BUFFERS 64
#define TX_BUFFERS 16
#define BUFFER 2048
#define HEADER 12  /* struct virtio_net_hdr with VERSION_1 */

struct queue { struct desc *desc; struct avail *avail; struct used *used; uint16_t next_avail, seen_used; };

static uintptr_t base;
static struct queue rx, tx;
static uint8_t mac[6];
static uint8_t ip[4] = {10, 0, 2, 15};
static uint8_t *const buffers = (uint8_t *)NET_BUFFERS_ADDR;  /* RX_BUFFERS then TX_BUFFERS */

static void copy(void *to, const void *from, uint32_t n) {
    uint8_t *t = to;
    const uint8_t *f = from;
    while (n--) *t++ = *f++;
}
static int same(const void *a, const void *b, uint32_t n) {
    const uint8_t *x = a, *y = b;
    while (n--) if (*x++ != *y++) return 0;
    return 1;
}
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static void put_ip(const uint8_t *a) {
    for (int i = 0; i < 4; i++) { putu(a[i]); if (i < 3) putc('.'); }
}

/* Internet checksum (RFC 1071) over n bytes. */
static uint16_t checksum(const uint8_t *p, uint32_t n) {
    uint32_t sum = 0;
    for (; n > 1; n -= 2, p += 2) sum += be16(p);
    if (n) sum += (uint32_t)p[0] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static int parse_ip(struct word w, uint8_t out[4]) {
    struct word rest;
    for (int i = 0; i < 4; i++) {
        int more = split(&w, '.', &rest);
        int64_t v;
        if (!number(w, &v) || v < 0 || v > 255 || more != (i < 3)) return 0;
        out[i] = (uint8_t)v;
        w = rest;
    }
    return 1;
}

static void queue_setup(int index, struct queue *q, uintptr_t area) {
    q->desc = (struct desc *)area;
    q->avail = (struct avail *)(area + 0x1000);
    q->used = (struct used *)(area + 0x2000);
    q->next_avail = q->seen_used = 0;
    for (uint8_t *p = (uint8_t *)area; p < (uint8_t *)area + 0x3000; p++) *p = 0;
    q->avail->flags = 1;  /* VIRTQ_AVAIL_F_NO_INTERRUPT: we poll */
    REG(base, QUEUE_SEL) = (uint32_t)index;
    REG(base, QUEUE_NUM) = QSIZE;
    REG(base, QUEUE_DESC) = (uint32_t)(uintptr_t)q->desc;
    REG(base, QUEUE_DESC + 4) = 0;
    REG(base, QUEUE_DRIVER) = (uint32_t)(uintptr_t)q->avail;
    REG(base, QUEUE_DRIVER + 4) = 0;
    REG(base, QUEUE_DEVICE) = (uint32_t)(uintptr_t)q->used;
    REG(base, QUEUE_DEVICE + 4) = 0;
    REG(base, QUEUE_READY) = 1;
}

static void offer(struct queue *q, uint16_t id) {
    q->avail->ring[q->next_avail % QSIZE] = id;
    q->next_avail++;
    __atomic_store_n(&q->avail->idx, q->next_avail, __ATOMIC_RELEASE);
}

/* Brings up the first virtio-net device (§3.1.1) and posts every receive buffer. */
static int net_open(void) {
    if (base) return 1;
    for (int slot = 0; slot < VIRTIO_MMIO_SLOTS; slot++) {
        uintptr_t b = VIRTIO_MMIO_BASE + (uintptr_t)slot * VIRTIO_MMIO_STRIDE;
        if (REG(b, MAGIC) != 0x74726976 || REG(b, VERSION) != 2) return 0;
        if (REG(b, DEVICE_ID) != 1) continue;
        base = b;
        REG(b, STATUS) = 0;
        REG(b, STATUS) = 1;
        REG(b, STATUS) = 3;
        REG(b, DEVICE_FEATURES_SEL) = 1;
        if (!(REG(b, DEVICE_FEATURES) & 1)) return 0;
        REG(b, DRIVER_FEATURES_SEL) = 0;
        REG(b, DRIVER_FEATURES) = 1u << 5;  /* VIRTIO_NET_F_MAC */
        REG(b, DRIVER_FEATURES_SEL) = 1;
        REG(b, DRIVER_FEATURES) = 1;        /* VIRTIO_F_VERSION_1 */
        REG(b, STATUS) = 3 | 8;
        if (!(REG(b, STATUS) & 8)) return 0;
        for (int i = 0; i < 6; i++) mac[i] = *(volatile uint8_t *)(b + CONFIG + (uintptr_t)i);
        queue_setup(0, &rx, NET_AREA_ADDR);
        queue_setup(1, &tx, NET_AREA_ADDR + 0x4000);
        REG(b, STATUS) = 3 | 8 | 4;
        for (uint16_t i = 0; i < RX_BUFFERS; i++) {
            rx.desc[i] = (struct desc){(uint64_t)(uintptr_t)(buffers + i * BUFFER), BUFFER, F_WRITE, 0};
            offer(&rx, i);
        }
        REG(b, QUEUE_NOTIFY) = 0;
        return 1;
    }
    return 0;
}

/* Sends an Ethernet frame (header included) of n bytes. */
static void send(const uint8_t *frame, uint32_t n) {
    uint64_t deadline = rdtsc() + boot->tsc_khz * 1000;
    while ((uint16_t)(tx.next_avail - __atomic_load_n(&tx.used->idx, __ATOMIC_ACQUIRE)) >= TX_BUFFERS) {
        if (rdtsc() > deadline) { puts("error: virtio-net transmit stuck\n"); poweroff(1); }
        pause();
    }
    uint16_t slot = tx.next_avail % TX_BUFFERS;
    uint8_t *b = buffers + (RX_BUFFERS + slot) * BUFFER;
    for (int i = 0; i < HEADER; i++) b[i] = 0;
    copy(b + HEADER, frame, n);
    tx.desc[slot] = (struct desc){(uint64_t)(uintptr_t)b, HEADER + n, 0, 0};
    offer(&tx, slot);
    REG(base, QUEUE_NOTIFY) = 1;
}

/* The next received frame (pointer into its buffer, length), or 0 when none arrived. The
 * previous frame's buffer goes back to the device first. */
static int pending_id = -1;
static int receive(uint8_t **frame, uint32_t *n) {
    if (pending_id >= 0) {
        offer(&rx, (uint16_t)pending_id);
        REG(base, QUEUE_NOTIFY) = 0;  /* the device may have run out of buffers */
        pending_id = -1;
    }
    if (__atomic_load_n(&rx.used->idx, __ATOMIC_ACQUIRE) == rx.seen_used) return 0;
    struct used_elem e = rx.used->ring[rx.seen_used % QSIZE];
    rx.seen_used++;
    pending_id = (int)e.id;
    if (e.id >= RX_BUFFERS || e.len < HEADER + 14 || e.len > BUFFER) return 0;
    *frame = buffers + e.id * BUFFER + HEADER;
    *n = e.len - HEADER;
    return 1;
}

static uint8_t out[1600];
static uint8_t peer_mac[6];
static int peer_known;
static uint8_t peer_ip[4];
static uint32_t replies, echoed;
static uint16_t ping_seq;
static uint64_t ping_sent_at;

/* Ethernet + IPv4 header for `length` bytes of payload to `to_mac`/`to_ip`; returns the payload. */
static uint8_t *ipv4(const uint8_t *to_mac, const uint8_t *to_ip, uint8_t protocol, uint32_t length) {
    copy(out, to_mac, 6);
    copy(out + 6, mac, 6);
    put16(out + 12, 0x0800);
    uint8_t *h = out + 14;
    h[0] = 0x45; h[1] = 0;
    put16(h + 2, (uint16_t)(20 + length));
    put16(h + 4, 0); put16(h + 6, 0x4000);  /* DF */
    h[8] = 64; h[9] = protocol;
    put16(h + 10, 0);
    copy(h + 12, ip, 4);
    copy(h + 16, to_ip, 4);
    put16(h + 10, checksum(h, 20));
    return h + 20;
}

static void handle(uint8_t *f, uint32_t n) {
    uint16_t type = be16(f + 12);
    if (type == 0x0806 && n >= 42) {  /* ARP */
        uint8_t *a = f + 14;
        uint16_t op = be16(a + 6);
        if (op == 1 && same(a + 24, ip, 4)) {  /* who-has our address: reply */
            copy(out, a + 8, 6);
            copy(out + 6, mac, 6);
            put16(out + 12, 0x0806);
            uint8_t *r = out + 14;
            put16(r, 1); put16(r + 2, 0x0800); r[4] = 6; r[5] = 4; put16(r + 6, 2);
            copy(r + 8, mac, 6); copy(r + 14, ip, 4);
            copy(r + 18, a + 8, 6); copy(r + 24, a + 14, 4);
            send(out, 42);
        }
        if (same(a + 14, peer_ip, 4)) { copy(peer_mac, a + 8, 6); peer_known = 1; }
        return;
    }
    if (type != 0x0800 || n < 34) return;
    uint8_t *h = f + 14;
    uint32_t ihl = (h[0] & 15) * 4u, total = be16(h + 2);
    if ((h[0] >> 4) != 4 || ihl < 20 || total < ihl || 14 + total > n || !same(h + 16, ip, 4)) return;
    uint8_t *p = h + ihl;
    uint32_t len = total - ihl;
    if (h[9] == 1 && len >= 8 && p[0] == 0 && same(h + 12, peer_ip, 4) && be16(p + 4) == 0x4248 && be16(p + 6) == ping_seq) {
        replies++;
        puts("net reply from ");
        put_ip(h + 12);
        puts(": seq=");
        putu(ping_seq);
        puts(" time=");
        putu((rdtsc() - ping_sent_at) * 1000 / boot->tsc_khz);
        puts(" us\n");
    } else if (h[9] == 1 && len >= 8 && p[0] == 8) {  /* echo request: answer it */
        uint8_t *r = ipv4(f + 6, h + 12, 1, len);
        copy(r, p, len);
        r[0] = 0;
        put16(r + 2, 0);
        put16(r + 2, checksum(r, len));
        send(out, 14 + 20 + len);
        echoed++;
    } else if (h[9] == 17 && len >= 8) {  /* UDP: echo the datagram back */
        uint8_t *r = ipv4(f + 6, h + 12, 17, len);
        copy(r, p + 2, 2);
        copy(r + 2, p, 2);
        copy(r + 4, p + 4, len - 4);
        put16(r + 6, 0);  /* no UDP checksum (allowed for IPv4) */
        send(out, 14 + 20 + len);
        echoed++;
    }
}

/* Handles frames until `done()` or `ms` milliseconds pass; returns whether done. */
static int poll_until(int (*done)(void), uint64_t ms) {
    uint64_t deadline = rdtsc() + boot->tsc_khz * ms;
    while (!done()) {
        uint8_t *f;
        uint32_t n;
        if (receive(&f, &n)) handle(f, n);
        else if (rdtsc() > deadline) return 0;
        else pause();
    }
    return 1;
}

static uint32_t echo_target;
static int peer_resolved(void) { return peer_known; }
static int reply_arrived(void) { return replies >= ping_seq; }
static int echoes_done(void) { return echoed >= echo_target; }

static void step_ping(struct word value) {
    if (!parse_ip(value, peer_ip)) fail("malformed net-ping", value);
    if (!net_open()) fail("no virtio-net device", value);
    peer_known = 0;
    replies = 0;
    for (int attempt = 0; attempt < 5 && !peer_known; attempt++) {  /* ARP who-has peer */
        static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        copy(out, broadcast, 6);
        copy(out + 6, mac, 6);
        put16(out + 12, 0x0806);
        uint8_t *r = out + 14;
        put16(r, 1); put16(r + 2, 0x0800); r[4] = 6; r[5] = 4; put16(r + 6, 1);
        copy(r + 8, mac, 6); copy(r + 14, ip, 4);
        for (int i = 0; i < 6; i++) r[18 + i] = 0;
        copy(r + 24, peer_ip, 4);
        send(out, 42);
        poll_until(peer_resolved, 1000);
    }
    if (!peer_known) { puts("net-ping: no ARP reply from "); put_ip(peer_ip); putc('\n'); poweroff(1); }
    for (ping_seq = 1; ping_seq <= 3; ping_seq++) {
        uint8_t *p = ipv4(peer_mac, peer_ip, 1, 64);
        p[0] = 8; p[1] = 0;
        put16(p + 2, 0);
        put16(p + 4, 0x4248);
        put16(p + 6, ping_seq);
        for (int i = 8; i < 64; i++) p[i] = (uint8_t)i;
        put16(p + 2, checksum(p, 64));
        ping_sent_at = rdtsc();
        send(out, 14 + 20 + 64);
        poll_until(reply_arrived, 1000);
    }
    puts("net-ping ");
    put_ip(peer_ip);
    puts(": 3 sent, ");
    putu(replies);
    puts(" received\n");
    if (replies == 0) poweroff(1);
}

static void step_echo(int64_t count, struct word value) {
    if (!net_open()) fail("no virtio-net device", value);
    echoed = 0;
    echo_target = (uint32_t)count;
    puts("net-echo: ready on ");
    put_ip(ip);
    putc('\n');
    int ok = poll_until(echoes_done, 20000);
    puts("net-echo: answered ");
    putu(echoed);
    puts(" frames\n");
    if (!ok) poweroff(1);
}

int net_step(struct word step, struct word value) {
    int64_t n = 0;
    if (equals(step, "net-ip")) {
        if (!parse_ip(value, ip)) fail("malformed net-ip", value);
    } else if (equals(step, "net-ping")) {
        step_ping(value);
    } else if (equals(step, "net-echo")) {
        if (!number(value, &n) || n < 1 || n > 1000000) fail("malformed net-echo", value);
        step_echo(n, value);
    } else {
        return 0;
    }
    return 1;
}
