// Defense in depth: see include/bulkhead_depth.h.
#define _GNU_SOURCE
#include "bulkhead_depth.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// PR_CAPBSET_DROP needs CAP_SETPCAP: done while the process still has it.
static int drop_bounding(uint64_t keep) {
    for (int cap = 0; cap <= 63; cap++) {
        if (keep & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL) break;  // past cap_last_cap
            return -errno;
        }
    }
    return 0;
}

static int set_capabilities(uint64_t keep) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -errno;
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    data[0].effective = data[0].permitted = (uint32_t)keep;
    data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
    if (syscall(SYS_capset, &header, data) < 0) return -errno;
    return 0;
}

int bh_depth_keep_capabilities(uint64_t keep) {
    int result = drop_bounding(keep);
    return result < 0 ? result : set_capabilities(keep);
}

int bh_depth_become(uint32_t uid, uint32_t gid, uint64_t keep) {
    // The kernel clears the parent-death signal when the uid changes (commit_creds): read
    // it first, set it again after, and fail if the parent died in between.
    int deathSignal = 0;
    if (prctl(PR_GET_PDEATHSIG, &deathSignal, 0, 0, 0) < 0) return -errno;
    pid_t parent = getppid();
    int dropped = drop_bounding(keep);
    if (dropped < 0) return dropped;
    if (setgroups(0, NULL) < 0) return -errno;
    if (prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) < 0) return -errno;
    // Raw syscalls, not glibc's: glibc's setresuid signals every thread (setxid), and these
    // run before any thread exists anyway.
    if (syscall(SYS_setresgid, gid, gid, gid) < 0) return -errno;
    if (syscall(SYS_setresuid, uid, uid, uid) < 0) return -errno;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return -errno;
    if (deathSignal != 0) {
        if (prctl(PR_SET_PDEATHSIG, deathSignal, 0, 0, 0) < 0) return -errno;
        if (getppid() != parent) return -ESRCH;
    }
    return set_capabilities(keep);
}

int bh_depth_limit(int resource, uint64_t value) {
    struct rlimit limit = {value, value};
    return setrlimit(resource, &limit) < 0 ? -errno : 0;
}

int bh_depth_enter_empty_namespaces(const char *scratch) {
    if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0) return -errno;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return -errno;
    if (mount("bulkhead-empty", scratch, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=2,mode=0555") < 0)
        return -errno;
    if (chdir(scratch) < 0) return -errno;
    // pivot_root(".", "."): the old root is stacked under the new one, then detached.
    if (syscall(SYS_pivot_root, ".", ".") < 0) return -errno;
    if (umount2(".", MNT_DETACH) < 0) return -errno;
    if (chdir("/") < 0) return -errno;
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return -errno;
    if (sethostname("bulkhead", 8) < 0) return -errno;
    return 0;
}

static void exit_on_terminate(int signal) { _exit(128 + signal); }

int bh_depth_exit_on_sigterm(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = exit_on_terminate;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGTERM, &action, NULL) < 0) return -errno;
    // A SIGTERM sent before this point waited, blocked since the spawn (bh_spawn with CLONE_NEWPID).
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    return sigprocmask(SIG_UNBLOCK, &term, NULL) < 0 ? -errno : 0;
}
