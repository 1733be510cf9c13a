// Defense in depth around the filters (DESIGN.md §7): identity, capabilities, namespaces and
// resource limits a child applies to itself, as root, before it confines. Wrapped by
// Sources/ProcessDefense. Every function returns 0 or -errno.
#ifndef BULKHEAD_DEPTH_H
#define BULKHEAD_DEPTH_H

#include <stdint.h>

/// setgroups(0, NULL), setresgid(gid×3), setresuid(uid×3), keeping exactly the capabilities
/// in `keep` (bit n = capability n): PR_SET_KEEPCAPS across the change, then capset with
/// keep as effective and permitted (inheritable and ambient empty), and every other
/// capability dropped from the bounding set (PR_CAPBSET_DROP). keep = 0 drops them all.
int bh_depth_become(uint32_t uid, uint32_t gid, uint64_t keep);

/// Drops every capability not in `keep` from the bounding set and sets `keep` as effective
/// and permitted (for a child that keeps its uid).
int bh_depth_keep_capabilities(uint64_t keep);

/// setrlimit(resource, {value, value}).
int bh_depth_limit(int resource, uint64_t value);

/// unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), mounts propagation
/// private, then an empty root: a read-only 4 KiB tmpfs at `scratch` (an existing empty
/// directory, e.g. /run/bulkhead or /tmp), pivot_root into it, the old root detached
/// (umount2 MNT_DETACH), chdir("/"). The process keeps every fd it holds.
int bh_depth_enter_empty_namespaces(const char *scratch);

/// SIGTERM ends the process with status 143 (a handler calling _exit): PID 1 of a PID
/// namespace ignores every signal it has no handler for, SIGKILL aside. Then unblocks
/// SIGTERM, so one that arrived since the spawn ends it now.
int bh_depth_exit_on_sigterm(void);

#endif
