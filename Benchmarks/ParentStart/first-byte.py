#!/usr/bin/env python3
"""`bulkhead run` start -> first serial byte of the test guest, wall time, interleaved with
references from the same run: with the block helper (--disk) and the worker alone (spawned
directly with /dev/kvm as an fd, no parent, no helpers).

usage: Benchmarks/ParentStart/first-byte.py [BUILD_DIR] [RUNS]   (default .build/release, 20)
Build first: swift build -c release --product bulkhead --product bulkhead-worker ... (or plain
`swift build -c release`). The medians also go out as RESULT lines for Benchmarks/report.py."""
import os, pwd, statistics, subprocess, sys, tempfile, time

build = sys.argv[1] if len(sys.argv) > 1 else ".build/release"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
disk = tempfile.NamedTemporaryFile(prefix="bulkhead-first-byte-", suffix=".img", dir="/tmp")
disk.truncate(1 << 20)
disk.flush()
if os.geteuid() == 0:  # the block helper opens it as the helpers' account (README "Security model")
    account = pwd.getpwnam("bulkhead")
    os.chown(disk.name, account.pw_uid, account.pw_gid)


def first_byte(argv, pass_fds=(), env=None):
    start = time.perf_counter()
    p = subprocess.Popen(argv, pass_fds=pass_fds, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    byte = p.stdout.read(1)
    elapsed = (time.perf_counter() - start) * 1000
    p.stdout.read()
    p.wait()
    assert byte and p.returncode == 0, (argv, p.returncode)
    return elapsed


def worker_alone():
    kvm = os.open("/dev/kvm", os.O_RDWR)
    try:
        return first_byte([f"{build}/bulkhead-worker", "--kvm-fd", str(kvm)], pass_fds=[kvm],
                          env={"SWIFT_BACKTRACE": "enable=no"})
    finally:
        os.close(kvm)


cases = {
    "bulkhead run": lambda: first_byte([f"{build}/bulkhead", "run"]),
    "bulkhead run --disk (block helper)": lambda: first_byte([f"{build}/bulkhead", "run", "--disk", disk.name]),
    "bulkhead-worker alone (reference)": worker_alone,
}
results = {name: [] for name in cases}
for _ in range(runs):
    for name, case in cases.items():
        results[name].append(case())
for name, times in results.items():
    print(f"{name:36} min {min(times):6.2f} ms  median {statistics.median(times):6.2f} ms  ({runs} runs)")

# Goals: the parent (Swift runtime, validation, spawn, seal) adds at most 10 ms to the worker
# alone; a helper started and greeted (the block helper for --disk) at most 5 ms more.
alone = statistics.median(results["bulkhead-worker alone (reference)"])
for name, key, budget in [("run.first-byte", "bulkhead run", 10), ("run.first-byte.disk", "bulkhead run --disk (block helper)", 15)]:
    value = statistics.median(results[key])
    print(f'RESULT name={name} value={value:.2f} unit=ms reference={alone:.2f} refname="bulkhead-worker alone" '
          f'goal="at most +{budget} ms" met={"yes" if value - alone <= budget else "no"}')
