// Plain C functions for what Swift cannot call: variadic libc calls (prctl, syscall),
// function-like macros, raw syscall ABIs and an async-signal-safe SIGSYS reporter.
// Shared by every process (parent, helpers, worker): each layer's own C is in CParent,
// CHelper or CWorker.
#ifndef BULKHEAD_SHIM_H
#define BULKHEAD_SHIM_H

#include <stdint.h>

/// prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0). Returns 0 or -errno.
int bh_set_no_new_privs(void);
/// prctl(PR_GET_NO_NEW_PRIVS). Returns 0/1 or -errno.
int bh_get_no_new_privs(void);
/// prctl(PR_SET_NAME, name) for the calling thread; also remembered (thread-local) so the
/// SIGSYS reporter can name the thread without a syscall. Returns 0 or -errno.
int bh_set_thread_name(const char *name);
/// prctl(PR_SET_PDEATHSIG, signal). Returns 0 or -errno.
int bh_set_parent_death_signal(int signal);
/// close_range(lowfd, ~0U, 0): closes every fd from lowfd up. Returns 0 or -errno.
int bh_close_from(int lowfd);
/// pipe2(fds, O_CLOEXEC) (pipe2 is a _GNU_SOURCE declaration). Returns 0 or -errno.
int bh_pipe_cloexec(int fds[2]);

/// The x86_64 `syscall` instruction with six arguments. Returns the kernel's raw answer
/// (-errno on failure). If the call created a process or thread (fork, vfork, clone,
/// clone3) the child leaves at once through exit(0), inside the same asm block.
long bh_raw_syscall(long number, long a0, long a1, long a2, long a3, long a4, long a5);
/// A syscall through the i386 ABI (`int $0x80`), five arguments. Returns the raw answer.
long bh_raw_syscall_i386(long number, long a0, long a1, long a2, long a3, long a4);
/// The x32 ABI marker bit that `number` carries for an x32 syscall.
#define BH_X32_SYSCALL_BIT 0x40000000L

/// SCMP_ACT_ERRNO(code): function-like macros are not imported into Swift.
uint32_t bh_scmp_act_errno(uint16_t code);

/// Installs the trap-mode SIGSYS handler: it writes one line
/// `bulkhead-sigsys syscall=N arch=0xA thread=NAME pid=P\n` to `report_fd`, then exit_group(159).
/// Async-signal-safe: fixed buffers, raw syscalls only. Returns 0 or -errno.
int bh_install_sigsys_reporter(int report_fd);

/// The exit status of a process whose forbidden call was reported (128 + SIGSYS).
#define BH_FORBIDDEN_CALL_STATUS 159

#endif
