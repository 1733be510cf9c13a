#define _GNU_SOURCE
#include "bulkhead_hostaccess.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>

static int result(long r) { return r < 0 ? -errno : (int)r; }

int bh_open_flags(int mode) {
    switch (mode) {
    case BH_OPEN_WALK_DIRECTORY: return O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    case BH_OPEN_READ_ONLY: return O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    case BH_OPEN_READ_WRITE: return O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    case BH_OPEN_IDENTIFY: return O_PATH | O_NOFOLLOW | O_CLOEXEC;
    case BH_OPEN_TUN: return O_RDWR | O_NONBLOCK | O_CLOEXEC;
    case BH_OPEN_READ_PLAIN: return O_RDONLY | O_CLOEXEC;
    case BH_OPEN_CREATE_WRITE_ONLY: return O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    default: return -1;
    }
}

int bh_open_at(int dirfd, const char *name, int mode) {
    int flags = bh_open_flags(mode);
    if (flags < 0) return -EINVAL;
    return result(openat(dirfd, name, flags, 0644));
}

int bh_at_fdcwd(void) { return AT_FDCWD; }

int bh_file_status_of(int fd, bh_file_status *out) {
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    out->device = st.st_dev;
    out->inode = st.st_ino;
    out->mode = st.st_mode;
    out->uid = st.st_uid;
    out->link_count = st.st_nlink;
    out->size = st.st_size;
    out->raw_device = st.st_rdev;
    return 0;
}

int64_t bh_size_by_seek(int fd) {
    off_t end = lseek(fd, 0, SEEK_END);
    return end < 0 ? -errno : (int64_t)end;
}

int bh_status_flags(int fd) { return result(fcntl(fd, F_GETFL)); }

int bh_tun_attach_tap(int fd, const char *name, char name_out[16]) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    size_t length = strnlen(name, IFNAMSIZ);
    if (length == 0 || length >= IFNAMSIZ) return -EINVAL;
    memcpy(ifr.ifr_name, name, length);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) return -errno;
    memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
    name_out[IFNAMSIZ - 1] = 0;
    return 0;
}

int bh_tun_attached(int fd, char name_out[16], int *flags_out) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (ioctl(fd, TUNGETIFF, &ifr) < 0) return -errno;
    memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
    name_out[IFNAMSIZ - 1] = 0;
    *flags_out = ifr.ifr_flags;
    return 0;
}

int bh_iff_tun(void) { return IFF_TUN; }
int bh_iff_tap(void) { return IFF_TAP; }
int bh_iff_no_pi(void) { return IFF_NO_PI; }
int bh_iff_vnet_hdr(void) { return IFF_VNET_HDR; }

// Runs in the forked child: async-signal-safe calls only, no allocation, no locks.
static void become_hook(const char *path, char *const argv[], char *const envp[],
                        int stdin_fd, int output_fd, int report_fd, pid_t parent) {
    int saved = 0;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) goto fail;
    if (getppid() != parent) _exit(127);  // the group's leader is already gone

    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    // SIGKILL/SIGSTOP answer EINVAL. SIGSYS is left alone: a handler is reset by execve
    // anyway, and in trap mode the exec profile refuses rt_sigaction(SIGSYS).
    for (int s = 1; s < NSIG; s++) {
        if (s != SIGSYS) (void)sigaction(s, &dfl, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) goto fail;

    // Move the three sources above 3 first: any of them may itself be 0, 1, 2 or 3.
    int in = fcntl(stdin_fd, F_DUPFD, 4);
    int out = fcntl(output_fd, F_DUPFD, 4);
    int report = fcntl(report_fd, F_DUPFD_CLOEXEC, 4);
    if (in < 0 || out < 0 || report < 0) goto fail;
    report_fd = report;
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) goto fail;
    if (dup3(report, 3, O_CLOEXEC) < 0) goto fail;
    report_fd = 3;
    if (syscall(SYS_close_range, 4U, ~0U, 0) < 0) goto fail;

    execve(path, argv, envp);
fail:
    saved = errno;
    (void)!write(report_fd, &saved, sizeof saved);
    _exit(127);
}

// The group's leader, in the forked child: async-signal-safe calls only. It has no
// parent-death signal of its own: it must outlive a killed launcher to end the group.
static void lead_group(const char *path, char *const argv[], char *const envp[],
                       int stdin_fd, int output_fd, int report_fd, int watch_fd, int watch_write_fd,
                       pid_t launcher) {
    if (setpgid(0, 0) < 0) _exit(127);
    if (getppid() != launcher) _exit(127);
    close(watch_write_fd);
    pid_t leader = getpid();
    pid_t hook = fork();
    if (hook < 0) {
        int saved = errno;
        (void)!write(report_fd, &saved, sizeof saved);
        _exit(127);
    }
    if (hook == 0) become_hook(path, argv, envp, stdin_fd, output_fd, report_fd, leader);
    // Only the hook's copies of its pipes may stay open: the launcher reads them to EOF.
    if (dup2(watch_fd, 0) < 0) { kill(0, SIGKILL); _exit(127); }
    (void)syscall(SYS_close_range, 1U, ~0U, 0);
    int pidfd = (int)syscall(SYS_pidfd_open, hook, 0);
    if (pidfd < 0) { kill(0, SIGKILL); _exit(127); }
    struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            kill(0, SIGKILL);
        }
        if (fds[0].revents) kill(0, SIGKILL);  // the launcher is gone: end the whole group
        if (fds[1].revents) break;
    }
    int status = 0;
    while (waitpid(hook, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    int number = WTERMSIG(status);
    signal(number, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, number);
    (void)sigprocmask(SIG_UNBLOCK, &only, NULL);
    kill(leader, number);  // end as the hook did
    _exit(128 + number);
}

int bh_spawn_in_own_group(const char *path, char *const argv[], char *const envp[],
                          int stdin_fd, int output_fd, int report_fd, int watch_fd, int watch_write_fd) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) lead_group(path, argv, envp, stdin_fd, output_fd, report_fd, watch_fd, watch_write_fd, parent);
    // Both sides set the group, so it exists whichever runs first. EACCES means the
    // child already called execve, after its own setpgid.
    (void)setpgid(pid, pid);
    return pid;
}


int bh_pidfd_open(int pid) { return result(syscall(SYS_pidfd_open, pid, 0)); }

int bh_become_child_subreaper(void) { return result(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)); }

long bh_statfs_type(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -errno;
    return (long)info.f_type;
}

long bh_fstatfs_type(int fd) {
    struct statfs info;
    if (fstatfs(fd, &info) != 0) return -errno;
    return (long)info.f_type;
}
