/* Bulkhead's test guest: runs the steps of its command line in order, in ring 3, and
 * powers off through PORT_POWEROFF. Freestanding: no libc, no interrupts, no ring-0 code.
 * Steps: banner, cpus, sleep=MS, exits=N, echo=LINES[,SECONDS], escape=SYSCALL[,ARG...][@io], poweroff,
 * cpuid=LEAF[,SUBLEAF] (prints what the VMM's CPUID table says), and triple-fault (an
 * exception with no IDT: tests the VMM's error path).
 * An escape ARG is a number (decimal, 0x-hex, negative), $N (the result of the Nth escape
 * step, -1 when it was refused), or a pointer the VMM checks against guest RAM: str:TEXT
 * (TEXT and a NUL; no ' ', ',' or '@' in it), hex:BYTES (raw bytes, e.g. a sockaddr_in),
 * buf:N (N zero bytes to be written), or ptr:ADDR:LEN / strptr:ADDR:LEN (a guest-physical
 * range as given, bytes / string: for hostile requests). After the call the bytes behind
 * hex: and buf: are printed (64 at most). */
#include "guest.h"

volatile struct boot_info *const boot = (struct boot_info *)BOOT_INFO_ADDR;
static volatile uint32_t checked_in;

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* ---- output through the 16550 ---- */
void putc(char c) {
    while (!(inb(PORT_UART + 5) & 0x20)) pause();  /* LSR.THRE */
    outb(PORT_UART, (uint8_t)c);
}
void puts(const char *s) { while (*s) putc(*s++); }
static void putn(const char *s, uint32_t n) { while (n--) putc(*s++); }
void putu(uint64_t v) {
    char d[21];
    int n = 0;
    do d[n++] = (char)('0' + v % 10); while ((v /= 10) && n < 20);
    while (n) putc(d[--n]);
}
static void puti(int64_t v) {
    if (v < 0) { putc('-'); putu(-(uint64_t)v); } else putu((uint64_t)v);
}

__attribute__((noreturn)) void poweroff(uint8_t status) {
    outb(PORT_POWEROFF, status);
    for (;;) pause();
}

/* ---- words of the command line (struct word in guest.h) ---- */

int equals(struct word w, const char *s) {
    uint32_t i = 0;
    for (; i < w.n; i++) if (s[i] != w.p[i]) return 0;
    return s[i] == 0;
}
/* Splits `w` at the first `c`: `w` keeps what is before it, `rest` gets what follows. */
int split(struct word *w, char c, struct word *rest) {
    for (uint32_t i = 0; i < w->n; i++) {
        if (w->p[i] == c) {
            rest->p = w->p + i + 1;
            rest->n = w->n - i - 1;
            w->n = i;
            return 1;
        }
    }
    rest->p = w->p + w->n;
    rest->n = 0;
    return 0;
}
/* Decimal, 0x-hex, optionally negative. Returns 0 when malformed or out of range. */
int number(struct word w, int64_t *out) {
    uint32_t i = 0;
    int negative = 0;
    uint64_t v = 0, base = 10;
    if (i < w.n && w.p[i] == '-') { negative = 1; i++; }
    if (i + 1 < w.n && w.p[i] == '0' && (w.p[i + 1] == 'x' || w.p[i + 1] == 'X')) { base = 16; i += 2; }
    if (i == w.n) return 0;
    for (; i < w.n; i++) {
        char c = w.p[i];
        uint64_t d;
        if (c >= '0' && c <= '9') d = (uint64_t)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f') d = (uint64_t)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F') d = (uint64_t)(c - 'A' + 10);
        else return 0;
        if (v > (~0ULL - d) / base) return 0;
        v = v * base + d;
    }
    *out = negative ? -(int64_t)v : (int64_t)v;
    return 1;
}

__attribute__((noreturn)) void fail(const char *what, struct word w) {
    puts("error: ");
    puts(what);
    puts(" '");
    putn(w.p, w.n);
    puts("'\n");
    poweroff(1);
}

/* ---- steps ---- */
static void puthex(uint32_t v) {
    puts("0x");
    for (int i = 28; i >= 0; i -= 4) putc("0123456789abcdef"[(v >> i) & 0xF]);
}

static void step_cpuid(int64_t leaf, int64_t subleaf) {
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"((uint32_t)leaf), "c"((uint32_t)subleaf));
    puts("cpuid ");
    puthex((uint32_t)leaf);
    puts(": eax=");
    puthex(a);
    puts(" ebx=");
    puthex(b);
    puts(" ecx=");
    puthex(c);
    puts(" edx=");
    puthex(d);
    putc('\n');
}

static void step_banner(void) {
    puts("bulkhead test guest: ");
    putu(boot->cpus);
    puts(boot->cpus == 1 ? " vcpu\n" : " vcpus\n");
}

static void step_cpus(void) {
    uint64_t deadline = rdtsc() + boot->tsc_khz * 10000;  /* 10 s: APs may wait for a busy host CPU */
    while (__atomic_load_n(&checked_in, __ATOMIC_ACQUIRE) < boot->cpus && rdtsc() < deadline) pause();
    uint32_t n = __atomic_load_n(&checked_in, __ATOMIC_ACQUIRE);
    puts("cpus: ");
    putu(n);
    putc('\n');
    if (n != boot->cpus) {
        puts("error: only ");
        putu(n);
        puts(" of ");
        putu(boot->cpus);
        puts(" vcpus checked in\n");
        poweroff(1);
    }
}

static void step_sleep(int64_t ms) {
    uint64_t end = rdtsc() + (uint64_t)ms * boot->tsc_khz;
    while (rdtsc() < end) pause();
    puts("slept ");
    putu((uint64_t)ms);
    puts(" ms\n");
}

/* tick=N,MS: prints "tick I" every MS ms, N times (a counting guest for pause/resume).
 * It polls boot_info.stop_request between ticks: the VMM's graceful stop (ctl stop)
 * sets it, and the guest prints "stop requested" and powers off with status 0. */
static void step_tick(int64_t n, int64_t ms) {
    for (int64_t i = 1; i <= n; i++) {
        /* From now, not from a fixed schedule: after a pause the count goes on at its pace. */
        uint64_t next = rdtsc() + (uint64_t)ms * boot->tsc_khz;
        while (rdtsc() < next) {
            if (boot->stop_request) {
                puts("stop requested\n");
                poweroff(0);
            }
            pause();
        }
        puts("tick ");
        putu((uint64_t)i);
        putc('\n');
    }
}

static void step_exits(int64_t n) {
    uint64_t start = rdtsc();
    for (int64_t i = 0; i < n; i++) outb(PORT_NULL, 0);
    uint64_t cycles = rdtsc() - start;
    if (cycles == 0) cycles = 1;
    uint64_t ns = cycles * 1000000 / boot->tsc_khz;  /* total ns */
    puts("exits: ");
    putu((uint64_t)n);
    puts(" in ");
    putu(ns / 1000);
    puts(" us, ");
    putu(ns ? (uint64_t)n * 1000000000ULL / ns : 0);
    puts(" exits/s, ");
    putu(n ? ns / (uint64_t)n : 0);
    puts(" ns/exit\n");
}

struct syscall_name { const char *name; int64_t number; };
static const struct syscall_name syscalls[] = {
    {"read", 0}, {"write", 1}, {"open", 2}, {"close", 3}, {"mmap", 9}, {"mprotect", 10},
    {"ioctl", 16}, {"preadv", 295}, {"pwritev", 296}, {"getpid", 39}, {"socket", 41},
    {"connect", 42}, {"clone", 56}, {"fork", 57}, {"vfork", 58}, {"execve", 59}, {"kill", 62},
    {"fsync", 74}, {"fdatasync", 75}, {"getppid", 110}, {"ptrace", 101}, {"setuid", 105},
    {"chroot", 161}, {"mount", 165}, {"umount2", 166}, {"reboot", 169}, {"init_module", 175},
    {"delete_module", 176}, {"gettid", 186}, {"tgkill", 234}, {"kexec_load", 246},
    {"keyctl", 250}, {"openat", 257}, {"unshare", 272}, {"perf_event_open", 298},
    {"setns", 308}, {"process_vm_readv", 310}, {"process_vm_writev", 311},
    {"finit_module", 313}, {"memfd_create", 319}, {"bpf", 321}, {"execveat", 322},
    {"userfaultfd", 323}, {"io_uring_setup", 425}, {"clone3", 435}, {"pidfd_open", 434},
    {"sched_yield", 24}, {"getuid", 102}, {"socketpair", 53}, {"prctl", 157},
    {"sendto", 44}, {"bind", 49}, {"getdents64", 217},
};

static int syscall_number(struct word w, int64_t *out) {
    for (uint32_t i = 0; i < sizeof syscalls / sizeof syscalls[0]; i++) {
        if (equals(w, syscalls[i].name)) { *out = syscalls[i].number; return 1; }
    }
    return number(w, out) && *out >= 0;
}

static struct escape_request request;
_Static_assert(sizeof(struct escape_request) == 128, "struct escape_request is 128 bytes (EscapeRequest.size)");

/* Where str:, hex: and buf: put their bytes (identity-mapped: the address is the
 * guest-physical one), refilled by every escape step; the results of earlier steps for $N. */
static uint8_t escape_data[8192];
static uint32_t escape_used;
static int64_t escape_results[64];
static uint32_t escape_steps;

/* Removes `prefix` from the front of `w`; 0 when `w` does not start with it. */
static int take_prefix(struct word *w, const char *prefix) {
    uint32_t i = 0;
    for (; prefix[i]; i++) if (i >= w->n || w->p[i] != prefix[i]) return 0;
    w->p += i;
    w->n -= i;
    return 1;
}

static uint8_t *escape_place(uint32_t n, struct word arg) {
    if (n > sizeof escape_data - escape_used) fail("escape: pointer arguments need more than 8192 bytes", arg);
    uint8_t *p = escape_data + escape_used;
    escape_used += n;
    for (uint32_t i = 0; i < n; i++) p[i] = 0;
    return p;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One argument of escape=: sets args[i], kinds[i], lengths[i]; 1 when the guest placed
 * bytes worth printing after the call (hex:, buf:). */
static int escape_argument(struct escape_request *r, int i, struct word arg) {
    struct word w = arg, len;
    int64_t n = 0;
    r->kinds[i] = ESCAPE_ARG_NUMBER;
    r->lengths[i] = 0;
    if (take_prefix(&w, "str:")) {
        uint8_t *p = escape_place(w.n + 1, arg);
        for (uint32_t k = 0; k < w.n; k++) p[k] = (uint8_t)w.p[k];
        r->kinds[i] = ESCAPE_ARG_STRING;
        r->lengths[i] = w.n + 1;
        r->args[i] = (int64_t)(uintptr_t)p;
        return 0;
    }
    if (take_prefix(&w, "hex:")) {
        if (w.n == 0 || w.n % 2) fail("escape: malformed hex: argument", arg);
        uint8_t *p = escape_place(w.n / 2, arg);
        for (uint32_t k = 0; k < w.n; k += 2) {
            int hi = hex_digit(w.p[k]), lo = hex_digit(w.p[k + 1]);
            if (hi < 0 || lo < 0) fail("escape: malformed hex: argument", arg);
            p[k / 2] = (uint8_t)(hi << 4 | lo);
        }
        r->kinds[i] = ESCAPE_ARG_BYTES;
        r->lengths[i] = w.n / 2;
        r->args[i] = (int64_t)(uintptr_t)p;
        return 1;
    }
    if (take_prefix(&w, "buf:")) {
        if (!number(w, &n) || n < 1 || n > (int64_t)sizeof escape_data) fail("escape: malformed buf: argument", arg);
        r->kinds[i] = ESCAPE_ARG_BYTES;
        r->lengths[i] = (uint64_t)n;
        r->args[i] = (int64_t)(uintptr_t)escape_place((uint32_t)n, arg);
        return 1;
    }
    int kind = take_prefix(&w, "ptr:") ? ESCAPE_ARG_BYTES : take_prefix(&w, "strptr:") ? ESCAPE_ARG_STRING : ESCAPE_ARG_NUMBER;
    if (kind != ESCAPE_ARG_NUMBER) {  /* ADDR:LEN exactly as given: the VMM must check them */
        if (!split(&w, ':', &len) || !number(w, &r->args[i]) || !number(len, &n)) fail("escape: malformed ptr: argument", arg);
        r->kinds[i] = (uint8_t)kind;
        r->lengths[i] = (uint64_t)n;
        return 0;
    }
    if (take_prefix(&w, "$")) {
        if (!number(w, &n) || n < 1 || n > escape_steps || n > 64) fail("escape: no such earlier escape step", arg);
        r->args[i] = escape_results[n - 1];
        return 0;
    }
    if (!number(w, &r->args[i])) fail("escape: malformed argument", arg);
    return 0;
}

static void put_bytes(const uint8_t *p, uint64_t n) {
    for (uint64_t k = 0; k < n && k < 64; k++) {
        putc("0123456789abcdef"[p[k] >> 4]);
        putc("0123456789abcdef"[p[k] & 0xF]);
    }
    if (n > 64) puts("...");
}

static void step_escape(struct word spec) {
    struct word place;
    int on_io = 0;
    if (split(&spec, '@', &place)) {
        if (equals(place, "io")) on_io = 1;
        else if (!equals(place, "vcpu")) fail("escape: unknown thread", place);
    }
    struct word name = spec, rest;
    int more = split(&name, ',', &rest);
    struct escape_request *r = &request;
    int shown[6];
    for (int i = 0; i < 6; i++) { r->args[i] = 0; r->kinds[i] = ESCAPE_ARG_NUMBER; r->lengths[i] = 0; shown[i] = 0; }
    escape_used = 0;
    if (!syscall_number(name, &r->number)) fail("escape: unknown syscall", name);
    for (int i = 0; more; i++) {
        struct word arg = rest;
        more = split(&arg, ',', &rest);
        if (i == 6) fail("escape: more than 6 arguments", spec);
        shown[i] = escape_argument(r, i, arg);
    }
    r->done = 0;
    r->result = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    outl(on_io ? PORT_ESCAPE_IO : PORT_ESCAPE, (uint32_t)(uintptr_t)r);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!r->done) {
        puts("error: no escape-probe device answered\n");
        poweroff(1);
    }
    int64_t result = r->done == ESCAPE_PERFORMED ? r->result : -1;  /* what $N sees */
    puts("escape ");
    putn(name.p, name.n);
    puts(on_io ? " on io" : " on vcpu");
    if (r->done != ESCAPE_PERFORMED) {  /* the VMM refused it: say why and carry on */
        puts(" refused: argument ");
        puti(r->result);
        puts(r->done == ESCAPE_OUTSIDE_RAM ? " is not inside guest RAM\n"
             : r->done == ESCAPE_NO_NUL    ? " has no NUL inside its length\n"
                                           : " is of an unknown kind\n");
    } else {
        puts(" = ");
        puti(r->result);
        putc('\n');
        for (int i = 0; i < 6; i++) {
            if (!shown[i]) continue;
            puts("escape ");
            putn(name.p, name.n);
            puts(" arg ");
            putu((uint64_t)i);
            puts(": ");
            put_bytes((const uint8_t *)(uintptr_t)r->args[i], r->lengths[i]);
            putc('\n');
        }
    }
    if (escape_steps < 64) escape_results[escape_steps] = result;
    escape_steps++;
}

/* echo=LINES[,SECONDS]: the console input path. Prints `echo: ready for LINES lines`, then
 * reads LINES lines from the UART by polling LSR.DR and RBR (ring 3, no interrupts), each
 * ended by CR, LF or CR LF, and prints each back as `echo: LINE`, control bytes as ^X. A
 * line longer than LINE_MAX is printed in pieces, each counting as a line. SECONDS bounds
 * the wait for each line: then `error: echo: no input within SECONDS s`, status 1. */
#define LINE_MAX 200
static int getc_until(uint64_t deadline) {
    while (!(inb(PORT_UART + 5) & 0x01)) {  /* LSR.DR */
        if (deadline && rdtsc() > deadline) return -1;
        pause();
    }
    return inb(PORT_UART);
}
static void put_visible(char c) {
    if ((uint8_t)c < 0x20 || c == 0x7f) { putc('^'); putc(c == 0x7f ? '?' : (char)(c + 0x40)); }
    else putc(c);
}
static void step_echo(int64_t lines, int64_t seconds) {
    char line[LINE_MAX];
    int after_cr = 0;
    puts("echo: ready for ");
    putu((uint64_t)lines);
    puts(lines == 1 ? " line\n" : " lines\n");
    for (int64_t i = 0; i < lines; i++) {
        uint64_t deadline = seconds ? rdtsc() + boot->tsc_khz * 1000 * (uint64_t)seconds : 0;
        uint32_t n = 0;
        for (;;) {
            int c = getc_until(deadline);
            if (c < 0) {
                puts("error: echo: no input within ");
                putu((uint64_t)seconds);
                puts(" s\n");
                poweroff(1);
            }
            if (c == '\n' && after_cr) { after_cr = 0; continue; }  /* the LF of CR LF */
            after_cr = c == '\r';
            if (c == '\r' || c == '\n') break;
            line[n++] = (char)c;
            if (n == LINE_MAX) break;
        }
        puts("echo: ");
        for (uint32_t j = 0; j < n; j++) put_visible(line[j]);
        putc('\n');
    }
}

static void run_step(struct word step) {
    struct word value;
    int has_value = split(&step, '=', &value);
    int64_t n = 0;
    if (!has_value && equals(step, "banner")) step_banner();
    else if (!has_value && equals(step, "cpus")) step_cpus();
    else if (!has_value && equals(step, "poweroff")) poweroff(0);
    else if (!has_value && equals(step, "triple-fault")) __asm__ volatile("ud2");
    else if (has_value && equals(step, "sleep")) {
        if (!number(value, &n) || n < 0 || n > 3600000) fail("malformed sleep", value);
        step_sleep(n);
    } else if (has_value && equals(step, "tick")) {
        struct word period;
        int64_t ms = 0;
        if (!split(&value, ',', &period) || !number(value, &n) || n < 0 || n > 100000000 || !number(period, &ms) || ms < 1
            || ms > 60000)
            fail("malformed tick", value);
        step_tick(n, ms);
    } else if (has_value && equals(step, "exits")) {
        if (!number(value, &n) || n < 0 || n > 100000000) fail("malformed exits", value);
        step_exits(n);
    } else if (has_value && equals(step, "echo")) {
        struct word limit;
        int64_t seconds = 0;
        int has_limit = split(&value, ',', &limit);
        if (!number(value, &n) || n < 1 || n > 1000000 || (has_limit && (!number(limit, &seconds) || seconds < 1 || seconds > 86400)))
            fail("malformed echo", value);
        step_echo(n, seconds);
    } else if (has_value && equals(step, "escape")) step_escape(value);
    else if (has_value && virtio_step(step, value)) {}
    else if (has_value && net_step(step, value)) {}
    else if (has_value && equals(step, "cpuid")) {
        struct word sub;
        int64_t subleaf = 0;
        int has_sub = split(&value, ',', &sub);
        if (!number(value, &n) || n < 0 || n > 0xFFFFFFFFLL || (has_sub && (!number(sub, &subleaf) || subleaf < 0)))
            fail("malformed cpuid", value);
        step_cpuid(n, subleaf);
    }
    else {
        if (has_value) step.n = (uint32_t)(value.p + value.n - step.p);
        fail("unknown step", step);
    }
}

void guest_main(uint64_t cpu) {
    if (cpu != 0) {
        __atomic_add_fetch(&checked_in, 1, __ATOMIC_RELEASE);
        for (;;) outb(PORT_PARK, 0);
    }
    __atomic_add_fetch(&checked_in, 1, __ATOMIC_RELEASE);
    if (boot->magic != BOOT_INFO_MAGIC || boot->cmdline_len > CMDLINE_MAX || boot->tsc_khz == 0) {
        puts("error: bad boot info\n");
        poweroff(2);
    }
    const char *p = (const char *)CMDLINE_ADDR, *end = p + boot->cmdline_len;
    while (p < end) {
        while (p < end && *p == ' ') p++;
        const char *start = p;
        while (p < end && *p != ' ') p++;
        if (p > start) run_step((struct word){start, (uint32_t)(p - start)});
    }
    poweroff(0);
}
