"""What one `bulkhead run` holds on the host and what it may leave behind, read from /proc,
/sys and the runtime directory only. Shared by storm.py (faults) and load.py (load).

A run is found by its parent's pid: every child the parent starts carries
BULKHEAD_RUN=<parent pid> in its otherwise clean environment (Sources/bulkhead/ChildProcess.swift).
"""
import ctypes
import os
import pwd
import stat
import subprocess

RUNTIME_ROOT = os.environ.get("BULKHEAD_RUNTIME_DIR", "/run/bulkhead")
CGROUP_ROOT = "/sys/fs/cgroup"
# comm of each process kind (15 bytes at most; `bulkhead-worker` is exactly 15).
ROLE_OF_COMM = {
    "bulkhead-worker": "worker",
    "bulkhead-block": "block",
    "bulkhead-net": "net",
    "bulkhead-exec": "exec",
}
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans of the processes we start are re-parented to us, so a SIGKILLed parent's
    children are reaped here and their wait status shows how they died."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def give_to_helper_account(path, account="bulkhead"):
    """Disk images belong to the account the block helper runs as (`bulkhead run --user`,
    default bulkhead; it holds no capability): owner and group, mode 0600."""
    os.chmod(path, 0o600)
    try:
        entry = pwd.getpwnam(account)
    except KeyError:
        return
    os.chown(path, entry.pw_uid, entry.pw_gid)


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def comm(pid):
    text = read(f"/proc/{pid}/comm")
    return text.strip() if text else None


def state(pid):
    """The state letter of /proc/PID/stat (R, S, Z, ...), None when the pid is gone."""
    text = read(f"/proc/{pid}/stat")
    if not text:
        return None
    return text[text.rfind(")") + 2]


def alive(pid):
    s = state(pid)
    return s is not None and s not in "ZX"


def direct_children(pid):
    """Children of every thread of pid, from /proc/PID/task/TID/children."""
    found = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        text = read(f"/proc/{pid}/task/{tid}/children")
        if text:
            found += [int(c) for c in text.split()]
    return found


def roles_of_children(parent):
    """{role: pid} of the parent's children that have exec'd their program (a forked
    child that has not yet exec'd still has the parent's comm and is not listed)."""
    roles = {}
    for child in direct_children(parent):
        role = ROLE_OF_COMM.get(comm(child) or "")
        if role:
            roles[role] = child
    return roles


def pids():
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def marked(parent):
    """Every live process whose environment carries BULKHEAD_RUN=<parent> (zombies have no
    readable environment: those are found through `zombies_of`)."""
    marker = f"BULKHEAD_RUN={parent}".encode()
    found = []
    for pid in pids():
        if pid == os.getpid():
            continue
        environ = read(f"/proc/{pid}/environ", "rb")
        if environ and marker in environ.split(b"\0"):
            found.append(pid)
    return found


def run_leftover_processes(parent, known):
    """The parent (unless reaped), anything marked with its pid, and any pid the run was seen
    to own that still exists in any state (a zombie counts: nobody reaped it)."""
    left = set(marked(parent))
    for pid in [parent] + list(known):
        if state(pid) is not None and (comm(pid) or "").startswith("bulkhead"):
            left.add(pid)
    return sorted(left)


def taps():
    """Names of every tun/tap device (those have /sys/class/net/NAME/tun_flags)."""
    return {n for n in os.listdir("/sys/class/net") if os.path.exists(f"/sys/class/net/{n}/tun_flags")}


def tap_holders(name):
    """Pids holding an fd attached to tap `name` (fdinfo of a tun fd has `iff:\tNAME`)."""
    holders = []
    needle = f"iff:\t{name}\n"
    for pid in pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fdinfo")
        except OSError:
            continue
        for fd in fds:
            info = read(f"/proc/{pid}/fdinfo/{fd}")
            if info and needle in info:
                holders.append(pid)
                break
    return holders


def create_tap(name):
    subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tap"], check=True)


def delete_tap(name):
    subprocess.run(["ip", "link", "del", name], stderr=subprocess.DEVNULL)


def runtime_entries(name, parent):
    """What the runtime directory still holds for VM `name`: its directory, a uid claim
    pointing at it, a start-up claim of its parent."""
    left = []
    try:
        entries = os.listdir(RUNTIME_ROOT)
    except OSError:
        return left
    for entry in entries:
        path = os.path.join(RUNTIME_ROOT, entry)
        if entry == name or entry == f".claim-{parent}":
            left.append(path)
        elif entry.startswith(".uid-"):
            try:
                if os.readlink(path) == name:
                    left.append(path)
            except OSError:
                pass
    return left


def socket_files(name):
    """Socket files a run could leave: any socket under the runtime root, and any bound
    AF_UNIX path (/proc/net/unix) that names the VM and still exists."""
    found = []
    for directory, _, files in os.walk(RUNTIME_ROOT):
        for f in files:
            path = os.path.join(directory, f)
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode) and name in path:
                    found.append(path)
            except OSError:
                pass
    for line in (read("/proc/net/unix") or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7].startswith("/") and name in fields[7] and os.path.exists(fields[7]):
            found.append(fields[7])
    return sorted(set(found))


def cgroup_dirs(words):
    """Directories in any cgroup hierarchy (v1 and v2) whose name contains one of `words`."""
    found = []
    for directory, subdirs, _ in os.walk(CGROUP_ROOT):
        for sub in subdirs:
            if any(w in sub for w in words):
                found.append(os.path.join(directory, sub))
    return found


def meminfo():
    values = {}
    for line in (read("/proc/meminfo") or "").splitlines():
        key, rest = line.split(":", 1)
        values[key] = int(rest.split()[0])  # kB
    return values


def host_sample():
    """Host-wide figures for the load test: allocated file handles, processes, memory."""
    allocated = int((read("/proc/sys/fs/file-nr") or "0").split()[0])
    in_tables = sum(fd_count(pid) or 0 for pid in pids())
    m = meminfo()
    return {
        "file_handles": allocated,
        # Handles no process's fd table explains (file-nr minus every process's fds): what a
        # leak in the kernel would leave (an fd in flight in SCM_RIGHTS never received, a
        # VM's file never released), while a neighbour's open files cancel out. Mappings
        # of files count here too, so it still moves a little with the neighbours.
        "handles_outside_fd_tables": allocated - in_tables,
        "processes": len(pids()),
        "mem_available_kib": m.get("MemAvailable", 0),
        "slab_kib": m.get("Slab", 0),
        # Kernel memory a VM's processes take and must give back (slab that cannot be
        # reclaimed, thread stacks, page tables): far less disturbed by a neighbour's build
        # than MemAvailable, which moves with every page cache and compiler.
        "sunreclaim_kib": m.get("SUnreclaim", 0),
        "kernel_stack_kib": m.get("KernelStack", 0),
        "page_tables_kib": m.get("PageTables", 0),
        "own_fds": len(os.listdir("/proc/self/fd")),
    }


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def describe(pid):
    """One line about a pid for a failure report: comm, state, wchan, ppid."""
    text = read(f"/proc/{pid}/stat") or ""
    ppid = text[text.rfind(")") + 2:].split()[1] if text else "?"
    wchan = (read(f"/proc/{pid}/wchan") or "?").strip()
    return f"pid {pid} {comm(pid)} state {state(pid)} ppid {ppid} wchan {wchan}"
