/* What the test guest's step files share: console output, command-line words, timing and
 * power-off (defined in guest.c). */
#ifndef BULKHEAD_GUEST_H
#define BULKHEAD_GUEST_H
#include "layout.h"

extern volatile struct boot_info *const boot;

struct word { const char *p; uint32_t n; };

void putc(char c);
void puts(const char *s);
void putu(uint64_t v);
__attribute__((noreturn)) void poweroff(uint8_t status);
__attribute__((noreturn)) void fail(const char *what, struct word w);
int split(struct word *w, char c, struct word *rest);
int equals(struct word w, const char *s);
int number(struct word w, int64_t *out);

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }

/* virtio.c: blk-sha256=N, blk-write=N, blk-read=N,MIB. Returns 0 when `step` is not one. */
int virtio_step(struct word step, struct word value);

/* net.c: net-ip=IP, net-ping=IP, net-echo=COUNT. Returns 0 when `step` is not one. */
int net_step(struct word step, struct word value);

/* sha256.c */
struct sha256 { uint32_t h[8]; uint64_t length; uint8_t block[64]; uint32_t used; };
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const uint8_t *data, uint64_t n);
void sha256_final(struct sha256 *s, uint8_t digest[32]);
#endif
