// Plain C for the helpers' host access (block, net, exec): the variadic openat/ioctl/fcntl,
// the macros TUNSETIFF/TUNGETIFF, and a fork+execve child that runs only async-signal-safe
// calls. Wrapped by typed Swift in the HostAccess library; nothing else should call these.
#ifndef BULKHEAD_HOSTACCESS_H
#define BULKHEAD_HOSTACCESS_H

#include <stdint.h>

/// The exact openat flag sets the helpers use. Those used once confined are each one line
/// of a seccomp profile (Sources/Sandbox/Profiles/{BlockHelper,NetHelper}.swift), so the
/// flags live here, once.
typedef enum {
    /// O_PATH|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC: step into one directory component
    /// (declaration time, before confinement: the block helper then holds the last one).
    BH_OPEN_WALK_DIRECTORY = 0,
    /// O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC: a declared file, read-only (block).
    BH_OPEN_READ_ONLY = 1,
    /// O_RDWR|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC: a declared file, read-write (block).
    BH_OPEN_READ_WRITE = 2,
    /// O_PATH|O_NOFOLLOW|O_CLOEXEC: identify a last component without opening it for I/O
    /// (declaration time, before confinement; exec helper's program check).
    BH_OPEN_IDENTIFY = 3,
    /// O_RDWR|O_NONBLOCK|O_CLOEXEC: /dev/net/tun, and the net helper's existence probe (net).
    BH_OPEN_TUN = 4,
    /// O_RDONLY|O_CLOEXEC: a small sysfs attribute or /dev/null (before confinement; exec).
    BH_OPEN_READ_PLAIN = 5,
    /// O_WRONLY|O_CREAT|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC, mode 0644: the parent's
    /// --console file (created if absent; never truncated before its type is known; a FIFO
    /// without a reader fails with ENXIO instead of blocking).
    BH_OPEN_CREATE_WRITE_ONLY = 6,
} bh_open_mode;

/// statfs(path)'s and fstatfs(fd)'s f_type: which file system a file is on (sys/vfs.h does
/// not reach Swift). -errno on failure.
long bh_statfs_type(const char *path);
long bh_fstatfs_type(int fd);

/// The flags of `mode`, for tests that compare them with the profiles. -1 if unknown.
int bh_open_flags(int mode);
/// openat(dirfd, name, flags of `mode`, 0644) (the file mode counts only with O_CREAT).
/// Returns the fd or -errno.
int bh_open_at(int dirfd, const char *name, int mode);
/// AT_FDCWD, which is a macro.
int bh_at_fdcwd(void);

/// What the helpers compare after an open: fstat(fd) (newfstatat(fd, "", AT_EMPTY_PATH)).
typedef struct {
    uint64_t device;
    uint64_t inode;
    uint32_t mode;
    uint32_t uid;
    uint64_t link_count;
    int64_t size;
    uint64_t raw_device;
} bh_file_status;
/// fstat(fd). Returns 0 or -errno.
int bh_file_status_of(int fd, bh_file_status *out);
/// lseek(fd, 0, SEEK_END): a block device's size (fstat reports 0). Returns it or -errno.
int64_t bh_size_by_seek(int fd);
/// fcntl(fd, F_GETFL). Returns the flags or -errno (tests check the access mode).
int bh_status_flags(int fd);

/// ioctl(fd, TUNSETIFF) with IFF_TAP|IFF_NO_PI, never
/// IFF_TUN_EXCL: attach to an existing tap. The kernel writes the attached name back into
/// `name_out` (16 bytes). Returns 0 or -errno.
int bh_tun_attach_tap(int fd, const char *name, char name_out[16]);
/// ioctl(fd, TUNGETIFF): the attached name and flags (tests only; not in the net profile).
int bh_tun_attached(int fd, char name_out[16], int *flags_out);
/// IFF_TUN, IFF_TAP, IFF_NO_PI, IFF_VNET_HDR from linux/if_tun.h.
int bh_iff_tun(void);
int bh_iff_tap(void);
int bh_iff_no_pi(void);
int bh_iff_vnet_hdr(void);

/// fork(); the child L leads a new process group (setpgid(0, 0)) and forks the hook H into
/// it. H: parent-death signal SIGKILL, every signal back to SIG_DFL and unblocked, stdin
/// from `stdin_fd`, stdout and stderr to `output_fd`, `report_fd` (a CLOEXEC pipe) kept at 3
/// as CLOEXEC, close_range(4, ~0U) and execve(path, argv, envp); if execve fails, H writes
/// its errno (4 bytes) to the report pipe and _exit(127)s. L keeps only `watch_fd` (the
/// read end of a pipe whose write end `watch_write_fd` only the caller keeps) and waits: when
/// H ends, L ends the same way (its exit status, or the same signal); when the pipe hangs up
/// (the caller died, even by SIGKILL) L SIGKILLs the whole group, itself included, so no
/// process of a hook outlives the launcher. The caller also calls setpgid(pid, pid), so the
/// group exists when this returns. Returns L's pid (the group's id) or -errno.
int bh_spawn_in_own_group(const char *path, char *const argv[], char *const envp[],
                          int stdin_fd, int output_fd, int report_fd, int watch_fd, int watch_write_fd);
/// pidfd_open(pid, 0): becomes readable when the process exits. Returns the fd or -errno.
int bh_pidfd_open(int pid);
/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants come back to this process to
/// be reaped, instead of to PID 1. Returns 0 or -errno.
int bh_become_child_subreaper(void);

#endif
