#!/usr/bin/env python3
"""PSS of every Bulkhead process of one `bulkhead run --disk` (the sealed parent, the worker
and the block helper) while the test guest runs, guest memory excluded: the sum of
/proc/PID/smaps Pss over the parent and every process carrying its BULKHEAD_RUN=<pid>, less
the worker's guest-memory mapping (the one mapping of exactly --memory MiB). PSS splits a page
shared by N processes N ways, so the sum counts the Swift runtime the three share once.

usage: Benchmarks/ParentStart/run-pss.py BUILD_DIR [COMPARE_BUILD_DIR]   (default .build/release)
With a second build directory (e.g. the same sources built with -static-stdlib) both are
measured interleaved, 5 runs each, and printed side by side; the RESULT line (for
Benchmarks/report.py) is BUILD_DIR's median, with COMPARE_BUILD_DIR's as its reference."""
import os, pwd, statistics, subprocess, sys, tempfile, time

builds = sys.argv[1:] or [".build/release"]
MEMORY_MIB = 64
RUNS = 5
disk = tempfile.NamedTemporaryFile(prefix="bulkhead-run-pss-", suffix=".img", dir="/tmp")
disk.truncate(1 << 20)
disk.flush()
if os.geteuid() == 0:  # the block helper opens it as the helpers' account (README "Security model")
    account = pwd.getpwnam("bulkhead")
    os.chown(disk.name, account.pw_uid, account.pw_gid)


def children(pid):
    marker = f"BULKHEAD_RUN={pid}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker in open(f"/proc/{entry}/environ", "rb").read().split(b"\0"):
                    found.append(int(entry))
            except OSError:
                pass
    return found


def pss_kib(pid):
    """(Pss of the process in KiB, of which in a mapping of exactly the guest's size)."""
    total = guest = size = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split()[0]
            if "-" in first and ":" not in first:
                a, b = (int(x, 16) for x in first.split("-"))
                size = b - a
            elif line.startswith("Pss:"):
                kib = int(line.split()[1])
                total += kib
                if size == MEMORY_MIB << 20:
                    guest += kib
    return total, guest


def one_run(build):
    # A uid range of its own: VMs other tests run may hold the default range's first uid.
    argv = [f"{build}/bulkhead", "run", "--disk", disk.name, "--memory", str(MEMORY_MIB), "--uid-range", "421000-421999",
            "--cmdline", "banner sleep=2000 poweroff"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert p.stdout.read(1), argv
    time.sleep(0.8)  # the guest sleeps: every process is started, greeted and serving
    by_process = {}
    for pid in [p.pid] + children(p.pid):
        try:
            total, guest = pss_kib(pid)
            name = open(f"/proc/{pid}/comm").read().strip()
        except OSError:
            continue
        by_process[name] = by_process.get(name, 0) + total - guest
    p.stdout.read()
    p.wait()
    assert p.returncode == 0, (argv, p.returncode)
    return by_process


results = {build: [] for build in builds}
for _ in range(RUNS):
    for build in builds:
        results[build].append(one_run(build))
for build, runs in results.items():
    totals = [sum(r.values()) for r in runs]
    middle = runs[totals.index(sorted(totals)[len(totals) // 2])]
    parts = ", ".join(f"{name} {kib / 1024:.2f}" for name, kib in sorted(middle.items()))
    print(f"PSS of every process of `bulkhead run --disk`, {build}: median {statistics.median(totals) / 1024:.2f} MiB "
          f"({parts} MiB; {RUNS} runs, guest memory excluded)")

# Goal: all of a VM's Bulkhead processes with a disk (parent, worker, block helper) take at
# most 10 MiB beside the guest's own memory.
value = statistics.median(sum(r.values()) for r in results[builds[0]]) / 1024
reference, refname = (statistics.median(sum(r.values()) for r in results[builds[1]]) / 1024, builds[1]) \
    if len(builds) > 1 else (0.0, "none")
print(f'RESULT name=run.pss.disk value={value:.2f} unit=MiB reference={reference:.2f} refname="{refname}" '
      f'goal="at most 10 MiB" met={"yes" if value <= 10 else "no"}')
