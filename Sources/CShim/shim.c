#define _GNU_SOURCE
#include "bulkhead_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <seccomp.h>

static int result(long r) { return r < 0 ? -errno : (int)r; }

int bh_set_no_new_privs(void) { return result(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)); }
int bh_get_no_new_privs(void) { return result(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)); }
int bh_set_parent_death_signal(int signal) { return result(prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0)); }
int bh_close_from(int lowfd) { return result(syscall(SYS_close_range, lowfd, ~0U, 0)); }

int bh_pipe_cloexec(int fds[2]) { return result(pipe2(fds, O_CLOEXEC)); }

static __thread char thread_name[16];

int bh_set_thread_name(const char *name) {
    strncpy(thread_name, name, sizeof thread_name - 1);
    return result(prctl(PR_SET_NAME, name, 0, 0, 0));
}

static int creates_task(long number) {
    long n = number & ~BH_X32_SYSCALL_BIT;
    return n == SYS_fork || n == SYS_vfork || n == SYS_clone || n == SYS_clone3;
}

long bh_raw_syscall(long number, long a0, long a1, long a2, long a3, long a4, long a5) {
    register long r10 __asm__("r10") = a3;
    register long r8 __asm__("r8") = a4;
    register long r9 __asm__("r9") = a5;
    register long child_exits __asm__("r12") = creates_task(number);
    long ret;
    // A child must not return through C frames it shares with its parent (vfork, or
    // a thread on the parent's stack), so it exits before leaving this block.
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "test %%r12, %%r12\n\t"
        "jz 1f\n\t"
        "mov $60, %%eax\n\t"
        "xor %%edi, %%edi\n\t"
        "syscall\n\t"
        "1:\n\t"
        : "=a"(ret)
        : "a"(number), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9), "r"(child_exits)
        : "rcx", "r11", "memory");
    return ret;
}

long bh_raw_syscall_i386(long number, long a0, long a1, long a2, long a3, long a4) {
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(number), "b"(a0), "c"(a1), "d"(a2), "S"(a3), "D"(a4)
                     : "memory");
    return ret;
}

uint32_t bh_scmp_act_errno(uint16_t code) { return SCMP_ACT_ERRNO(code); }

static int sigsys_report_fd = 2;
static long sigsys_pid;

static char *append_text(char *p, char *end, const char *s) {
    while (*s && p < end) *p++ = *s++;
    return p;
}

static char *append_number(char *p, char *end, unsigned long value, int base) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value && n < (int)sizeof digits);
    while (n && p < end) *p++ = digits[--n];
    return p;
}

static void report_sigsys(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)context;
    char line[160];
    char *p = line, *end = line + sizeof line - 1;
    p = append_text(p, end, "bulkhead-sigsys syscall=");
    p = append_number(p, end, (unsigned long)(unsigned int)info->si_syscall, 10);
    p = append_text(p, end, " arch=0x");
    p = append_number(p, end, (unsigned long)info->si_arch, 16);
    p = append_text(p, end, " thread=");
    p = append_text(p, end, thread_name[0] ? thread_name : "unnamed");
    p = append_text(p, end, " pid=");
    p = append_number(p, end, (unsigned long)sigsys_pid, 10);
    *p++ = '\n';
    // Raw calls: the filter allows write and exit_group on every role.
    bh_raw_syscall(SYS_write, sigsys_report_fd, (long)line, p - line, 0, 0, 0);
    bh_raw_syscall(SYS_exit_group, BH_FORBIDDEN_CALL_STATUS, 0, 0, 0, 0, 0);
}

int bh_install_sigsys_reporter(int report_fd) {
    sigsys_report_fd = report_fd;
    sigsys_pid = getpid();
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = report_sigsys;
    action.sa_flags = SA_SIGINFO;
    sigfillset(&action.sa_mask);
    return result(sigaction(SIGSYS, &action, NULL));
}
