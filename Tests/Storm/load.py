#!/usr/bin/env python3
"""Load: many test-guest VMs at once, then many one after the other, with the host's file
handles, processes and memory sampled before, during and after.

usage: Tests/Storm/load.py --bin .build/debug [--concurrent 16] [--sequential 200] [--strict]
Run as root (/dev/kvm, /run/bulkhead).

Every VM is a real `bulkhead run` of the test guest with its own 1 MiB disk of random bytes
(block helper): "banner blk-sha256=0 sleep=MS poweroff". Each must exit 0 and print its banner,
the SHA-256 of its own disk (so no VM ever reads another's) and `slept MS ms`; afterwards no
process of it, no runtime entry and no socket file is left.

Concurrent: all VMs start together and must all finish correctly.
Sequential: the host is sampled before the first run, every --every runs and after the last:
/proc/sys/fs/file-nr (allocated file handles), the number of processes, MemAvailable and Slab,
and this driver's own fds; during each run (in the guest's sleep) the fd count of every
process of the VM. "Flat" means: the driver's fds and each VM process's fd count are the same
in every run, and the host figures after the runs (median of 5 samples) are within the
tolerances below, both before -> after and as the median change across one run times the
number of runs (a leak of k per run shows as k x runs; a neighbour's activity mostly averages
out). The host is shared (other builds and tests may run), so the host figures fail the run
only with --strict (`make load`); without it only what is ours alone is judged.
"""
import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bulkhead_host as host  # noqa: E402

TOLERANCE = {
    "file_handles": 256,  # allocated file handles, host-wide
    "processes": 20,  # processes, host-wide
    "mem_available_kib": 64 * 1024,  # a fall of more than 64 MiB
    "slab_kib": 32 * 1024,  # a growth of more than 32 MiB
    "sunreclaim_kib": 8 * 1024,
    "kernel_stack_kib": 1024,  # 64 threads' stacks
    "page_tables_kib": 16 * 1024,
}


def make_disk(path):
    data = os.urandom(1 << 20)
    with open(path, "wb") as f:
        f.write(data)
    host.give_to_helper_account(path)
    return hashlib.sha256(data).hexdigest()


class VM:
    def __init__(self, args, name, disk, sleep_ms):
        self.name = name
        self.disk = disk
        self.sleep_ms = sleep_ms
        argv = [os.path.join(args.bin, "bulkhead"), "run", "--name", name, "--disk", disk,
                "--cmdline", f"banner blk-sha256=0 sleep={sleep_ms} poweroff"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.early = b""  # console lines read while the VM ran

    def wait_for_line(self, prefix):
        """Reads console lines until one starts with `prefix` (the guest then runs its next step)."""
        while True:
            line = self.proc.stdout.readline()
            self.early += line
            if not line or line.startswith(prefix):
                return bool(line)

    def fds_of_processes(self):
        """fd count per process kind of this VM, read while the guest sleeps."""
        counts = {"parent": host.fd_count(self.proc.pid)}
        for role, pid in host.roles_of_children(self.proc.pid).items():
            counts[role] = host.fd_count(pid)
        return counts

    def judge(self, digest, timeout):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            return [f"{self.name}: no end within {timeout} s"]
        out = (self.early + out).decode(errors="replace")
        err = err.decode(errors="replace")
        problems = []
        if self.proc.returncode != 0:
            problems.append(f"{self.name}: exit {self.proc.returncode}: {err.strip()}")
        for line in ("bulkhead test guest: 1 vcpu", f"blk 0 sha256 {digest}", f"slept {self.sleep_ms} ms"):
            if line not in out:
                problems.append(f"{self.name}: output lacks {line!r}: {out.strip()!r}")
        left = host.run_leftover_processes(self.proc.pid, [])
        deadline = time.monotonic() + 5
        while left and time.monotonic() < deadline:
            time.sleep(0.01)
            left = host.run_leftover_processes(self.proc.pid, [])
        problems += [f"{self.name}: left process {host.describe(p)}" for p in left]
        problems += [f"{self.name}: left runtime entry {e}" for e in host.runtime_entries(self.name, self.proc.pid)]
        problems += [f"{self.name}: left socket file {s}" for s in host.socket_files(self.name)]
        return problems


def concurrent(args, scratch):
    disks = [f"{scratch}/c{i}.img" for i in range(args.concurrent)]
    digests = [make_disk(d) for d in disks]
    started = time.monotonic()
    vms = [VM(args, f"load-{os.getpid()}-c{i}", disks[i], args.concurrent_sleep_ms) for i in range(args.concurrent)]
    # Every VM must be running at the same moment, not merely started in a row.
    peak = 0
    while any(vm.proc.poll() is None for vm in vms) and time.monotonic() - started < args.timeout:
        peak = max(peak, sum(1 for vm in vms if "worker" in host.roles_of_children(vm.proc.pid)))
        time.sleep(0.05)
    problems = []
    for vm, digest in zip(vms, digests):
        problems += vm.judge(digest, args.timeout)
    wall = time.monotonic() - started
    print(f"load: {args.concurrent} concurrent VMs (sleep={args.concurrent_sleep_ms} ms): "
          f"{args.concurrent - len({p.split(':')[0] for p in problems})} finished correctly, "
          f"at most {peak} workers running at once, wall {wall:.1f} s", flush=True)
    return problems


def settled_sample():
    """Median of 5 samples 100 ms apart: one sample catches a neighbour's build mid-step."""
    samples = []
    for _ in range(5):
        samples.append(host.host_sample())
        time.sleep(0.1)
    return {k: statistics.median(s[k] for s in samples) for k in samples[0]}


def sequential(args, scratch):
    disk = f"{scratch}/s.img"
    digest = make_disk(disk)
    problems = []
    before = settled_sample()
    samples = [("before", before)]
    process_fds = {}
    per_run = {}  # host figure -> its change across each run (after it ended minus before it started)
    started = time.monotonic()
    for i in range(1, args.sequential + 1):
        pre = host.host_sample()
        vm = VM(args, f"load-{os.getpid()}-s{i}", disk, args.sequential_sleep_ms)
        # Sample the VM's processes in the guest's sleep (after its sha256 line): the same
        # moment of every run, when every thread and device of the worker exists.
        if vm.wait_for_line(b"blk 0 sha256"):
            time.sleep(args.sequential_sleep_ms / 3000)
            for role, count in vm.fds_of_processes().items():
                process_fds.setdefault(role, []).append(count)
        problems += vm.judge(digest, args.timeout)
        post = host.host_sample()
        for key in TOLERANCE:
            per_run.setdefault(key, []).append(post[key] - pre[key])
        if i % args.every == 0 or i == args.sequential:
            samples.append((i, host.host_sample()))
    wall = time.monotonic() - started
    after = settled_sample()
    samples.append(("after", after))

    print(f"load: {args.sequential} sequential runs (sleep={args.sequential_sleep_ms} ms), wall {wall:.1f} s, "
          f"{args.sequential - len({p.split(':')[0] for p in problems})} correct", flush=True)
    print("     run  file handles  processes  MemAvailable MiB  Slab MiB  SUnreclaim MiB  KernelStack MiB"
          "  PageTables MiB  driver fds")
    for i, s in samples:
        print(f"  {i:>6} {s['file_handles']:13.0f} {s['processes']:10.0f} {s['mem_available_kib'] / 1024:17.1f}"
              f" {s['slab_kib'] / 1024:9.1f} {s['sunreclaim_kib'] / 1024:15.1f} {s['kernel_stack_kib'] / 1024:16.1f}"
              f" {s['page_tables_kib'] / 1024:15.1f} {s['own_fds']:11.0f}")
    flat = {key: after[key] - before[key] for key in TOLERANCE}
    flat["mem_available_kib"] = before["mem_available_kib"] - after["mem_available_kib"]
    # Two views of each figure. Before -> after: what a reader expects, but it moves with
    # every neighbour on a shared host. The median change across one run, times the number
    # of runs: a leak of k per run shows as k x runs, while a neighbour's activity, which has
    # nothing to do with our runs, mostly averages out in the median (not a build that grows
    # for as long as the runs last). Both are judged with --strict (`make load`, a quiet host);
    # without it they are reported, and only what is ours alone is judged.
    host_problems = []
    print(f"  {'figure':18} {'before->after':>14} {'median/run x runs':>18} {'tolerance':>10}  verdict")
    for key, change in flat.items():
        unit = " MiB" if key.endswith("kib") else ""
        scale = 1024 if key.endswith("kib") else 1
        sign = -1 if key == "mem_available_kib" else 1  # a fall of MemAvailable is the growth
        trend = sign * statistics.median(per_run[key]) * args.sequential
        verdict = "flat" if trend <= TOLERANCE[key] and change <= TOLERANCE[key] else "NOT flat"
        print(f"  {key:18} {change / scale:+14.1f} {trend / scale:+18.1f} {TOLERANCE[key] / scale:10.0f}{unit}  {verdict}")
        if trend > TOLERANCE[key]:
            host_problems.append(f"host {key}: median change per run x {args.sequential} runs = {trend} (tolerance {TOLERANCE[key]})")
        if change > TOLERANCE[key]:
            host_problems.append(f"host {key} changed by {change} over {args.sequential} runs (tolerance {TOLERANCE[key]})")
    print("  (MemAvailable counts as a fall, the rest as a growth)")
    own = {s["own_fds"] for _, s in samples}
    print(f"  driver fds: {sorted(own)} ({'flat' if len(own) == 1 else 'NOT flat'})")
    if len(own) != 1:
        problems.append(f"the driver's own fd count changed: {sorted(own)}")
    for role, counts in sorted(process_fds.items()):
        distinct = sorted(set(counts))
        print(f"  {role} fds during a run: {distinct} over {len(counts)} runs "
              f"({'flat' if len(distinct) == 1 else 'NOT flat'})")
        if len(distinct) != 1:
            problems.append(f"{role}'s fd count differs between runs: {distinct}")
    if len(process_fds.get("worker", [])) < args.sequential * 0.9:
        problems.append(f"the worker was sampled in only {len(process_fds.get('worker', []))} runs")
    if args.strict:
        problems += host_problems
    elif host_problems:
        print("  (host figures reported, not judged: the host is shared; --strict judges them)")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--concurrent", type=int, default=16)
    parser.add_argument("--concurrent-sleep-ms", type=int, default=2000)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--sequential-sleep-ms", type=int, default=100)
    parser.add_argument("--every", type=int, default=20, help="sample the host every N sequential runs")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one VM may take")
    parser.add_argument("--strict", action="store_true", help="fail when a host figure is not flat")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("load: run as root (/dev/kvm, /run/bulkhead)")
    scratch = f"/tmp/bulkhead-load-{os.getpid()}"
    os.makedirs(scratch, exist_ok=True)
    try:
        problems = concurrent(args, scratch) if args.concurrent else []
        problems += sequential(args, scratch) if args.sequential else []
    finally:
        subprocess.run(["rm", "-rf", scratch])
    for problem in problems:
        print(f"  problem: {problem}")
    print("load: PASS" if not problems else "load: FAIL", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
