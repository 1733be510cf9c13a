#!/usr/bin/env python3
"""Figures for bulkhead-worker with the built-in test guest, each beside its reference.

    swift build -c release --scratch-path .build-kvm --product bulkhead-worker
    python3 Benchmarks/WorkerFigures/worker_figures.py .build-kvm/release/bulkhead-worker

1. worker start -> first serial byte (ms, 20 runs: min / median), kill filters vs none
2. port-exit rate (`exits=N`), filters (kill) vs --seccomp none, runs interleaved
3. PSS of the running worker (64 MiB guest) from /proc/PID/smaps, guest memory excluded,
   with filters (kill) vs --seccomp none
Each figure also goes out as a RESULT line for Benchmarks/report.py (BENCHMARKS.md).
"""
import os, re, select, statistics, subprocess, sys, time

WORKER = sys.argv[1] if len(sys.argv) > 1 else ".build-kvm/release/bulkhead-worker"
ENV = {"SWIFT_BACKTRACE": "enable=no", "PATH": "/usr/bin:/bin"}


def spawn(args):
    kvm = os.open("/dev/kvm", os.O_RDWR)
    t0 = time.monotonic()
    p = subprocess.Popen([WORKER, "--kvm-fd", str(kvm)] + args, pass_fds=[kvm], env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(kvm)
    return p, t0


def first_byte(mode):
    p, t0 = spawn(["--seccomp", mode, "--cmdline", "banner poweroff"])
    select.select([p.stdout], [], [])
    t = (time.monotonic() - t0) * 1000
    p.communicate()
    assert p.returncode == 0, p.returncode
    return t


def exit_ns(mode, n):
    p, _ = spawn(["--seccomp", mode, "--cmdline", f"exits={n}"])
    out, err = p.communicate()
    assert p.returncode == 0, (out, err)
    return int(re.search(rb"(\d+) ns/exit", out).group(1))


def result(name, value, unit, reference, refname, goal, met):
    print(f'RESULT name={name} value={value:.2f} unit={unit} reference={reference:.2f} refname="{refname}" '
          f'goal="{goal}" met={"yes" if met else "no"}')


def pss_kib(memory_mib, mode="kill"):
    p, _ = spawn(["--seccomp", mode, "--memory", str(memory_mib), "--cpus", "2", "--cmdline", "banner cpus sleep=1500"])
    time.sleep(1.0)
    total = guest = 0
    size = None
    with open(f"/proc/{p.pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                a, b = (int(x, 16) for x in line.split()[0].split("-"))
                size = b - a
            elif line.startswith("Pss:"):
                kib = int(line.split()[1])
                total += kib
                if size == memory_mib << 20:
                    guest += kib
    rollup = open(f"/proc/{p.pid}/smaps_rollup").read()
    p.communicate()
    field = lambda name: int(re.search(rf"^{name}:\s+(\d+)", rollup, re.M).group(1))
    return total, guest, field("Pss"), field("Rss")


def main():
    for mode in ["none", "kill"]:
        first_byte(mode)  # warm the page cache
    starts = {}
    for mode in ["none", "kill"]:
        ts = starts[mode] = [first_byte(mode) for _ in range(20)]
        print(f"start -> first serial byte, --seccomp {mode:4}: min {min(ts):.2f} ms, median {statistics.median(ts):.2f} ms (20 runs)")
    n = 50000
    runs = {"none": [], "kill": []}
    for _ in range(11):
        for mode in runs:
            runs[mode].append(exit_ns(mode, n))
    for mode, ns in runs.items():
        med = statistics.median(ns)
        print(f"port exits ({n}/run, 11 runs), --seccomp {mode:4}: median {med} ns/exit = {1e9 / med:.0f} exits/s, "
              f"min {min(ns)} ns/exit  {ns}")
    slower = statistics.median(runs["kill"]) / statistics.median(runs["none"]) - 1
    fastest = min(runs["kill"]) / min(runs["none"]) - 1
    print(f"filters vs none: {slower * 100:+.2f}% (medians), {fastest * 100:+.2f}% (fastest runs)")
    total, guest, rollup, rss = pss_kib(64)
    print(f"PSS of the worker (64 MiB guest, 2 vCPUs): {total - guest} KiB without guest memory "
          f"(guest memory {guest} KiB; smaps_rollup Pss {rollup} KiB, Rss {rss} KiB: shared libraries "
          f"count fully in PSS only when no other process maps them)")
    none_total, none_guest, _, _ = pss_kib(64, "none")
    print(f"PSS of the worker with --seccomp none: {none_total - none_guest} KiB without guest memory")

    # Goals: the filters cost no more than 1 ms of start-up and 5 % of the port-exit rate
    # (an exit is ~25 µs on PVM; the vCPU filter adds ~0.1 µs); the worker, without its guest's
    # memory, stays under 4 MiB PSS (the Swift runtime and libc, shared with nothing else).
    kill, none = statistics.median(starts["kill"]), statistics.median(starts["none"])
    result("worker.first-byte", kill, "ms", none, "worker, --seccomp none", "at most +1 ms", kill - none <= 1)
    kill, none = statistics.median(runs["kill"]), statistics.median(runs["none"])
    result("worker.port-exit", kill / 1000, "µs", none / 1000, "worker, --seccomp none", "at most +5 %", kill <= 1.05 * none)
    kib, none_kib = total - guest, none_total - none_guest
    result("worker.pss", kib / 1024, "MiB", none_kib / 1024, "worker, --seccomp none", "at most 4 MiB", kib <= 4096)


main()
