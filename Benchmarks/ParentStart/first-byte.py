#!/usr/bin/env python3
"""`bulkhead run` start -> first serial byte of the test guest, wall time, interleaved with
references from the same run: with the block helper (--disk) and the worker alone (spawned
directly with /dev/kvm as an fd, no parent, no helpers).

usage: Benchmarks/ParentStart/first-byte.py [BUILD_DIR] [RUNS] [COMPARE_BUILD_DIR]
(default .build/release, 20). Build first: swift build -c release (or with --scratch-path).
The medians also go out as RESULT lines for Benchmarks/report.py. COMPARE_BUILD_DIR, the same
sources built another way (e.g. `swift build -c release --scratch-path .build-static -Xswiftc
-static-stdlib`, measured for issue 15 and not adopted: see README "Benchmarks"), runs the same three cases
interleaved with BUILD_DIR's and is printed beside them, each build against its own worker."""
import os, pwd, statistics, subprocess, sys, tempfile, time

build = sys.argv[1] if len(sys.argv) > 1 else ".build/release"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
compare = sys.argv[3] if len(sys.argv) > 3 else None
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


def worker_alone(directory):
    kvm = os.open("/dev/kvm", os.O_RDWR)
    try:
        return first_byte([f"{directory}/bulkhead-worker", "--kvm-fd", str(kvm)], pass_fds=[kvm],
                          env={"SWIFT_BACKTRACE": "enable=no"})
    finally:
        os.close(kvm)


def cases_of(directory, suffix=""):
    return {
        "bulkhead run" + suffix: lambda: first_byte([f"{directory}/bulkhead", "run"]),
        "bulkhead run --disk (block helper)" + suffix: lambda: first_byte([f"{directory}/bulkhead", "run", "--disk", disk.name]),
        "bulkhead-worker alone (reference)" + suffix: lambda: worker_alone(directory),
    }


cases = cases_of(build)
if compare:
    cases.update(cases_of(compare, f" [{compare}]"))
results = {name: [] for name in cases}
for _ in range(runs):
    for name, case in cases.items():
        results[name].append(case())
for name, times in results.items():
    print(f"{name:36} min {min(times):6.2f} ms  median {statistics.median(times):6.2f} ms  ({runs} runs)")
if compare:
    for suffix, directory in [("", build), (f" [{compare}]", compare)]:
        alone = statistics.median(results["bulkhead-worker alone (reference)" + suffix])
        run = statistics.median(results["bulkhead run" + suffix]) - alone
        with_disk = statistics.median(results["bulkhead run --disk (block helper)" + suffix]) - alone
        print(f"{directory:24} over its own worker alone: run +{run:.2f} ms, run --disk +{with_disk:.2f} ms")

# Goals: the parent (Swift runtime, validation, spawn, seal) adds at most 5 ms to the worker
# alone; a helper started and greeted (the block helper for --disk) at most 3 ms more.
alone = statistics.median(results["bulkhead-worker alone (reference)"])
for name, key, budget in [("run.first-byte", "bulkhead run", 5), ("run.first-byte.disk", "bulkhead run --disk (block helper)", 8)]:
    value = statistics.median(results[key])
    print(f'RESULT name={name} value={value:.2f} unit=ms reference={alone:.2f} refname="bulkhead-worker alone" '
          f'goal="at most +{budget} ms" met={"yes" if value - alone <= budget else "no"}')
