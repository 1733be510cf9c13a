#!/usr/bin/env python3
"""Runs every benchmark `make bench` lists and writes BENCHMARKS.md from their RESULT lines.

usage: Benchmarks/report.py OUTPUT.md COMMAND...   (each COMMAND one shell command line)

Each benchmark keeps printing its human-readable figures (passed through here) and adds one
machine-readable line per figure:

    RESULT name=ID value=N unit=U reference=N refname="what the reference is" goal="..." met=yes|no

The reference is measured in the same run as the figure. The table says so beside the machine
it ran on (cores, CPU, memory, kernel, PVM or hardware KVM) and the load average around the
run; BENCH_NOTE in the environment adds a sentence (e.g. that other builds shared the cores).
A benchmark that fails or prints no RESULT line is a row saying so, and the exit status is 1.
"""
import datetime, os, platform, shlex, subprocess, sys


def parse(line):
    fields = dict(item.split("=", 1) for item in shlex.split(line[len("RESULT "):]))
    for key in ("value", "reference"):
        fields[key] = float(fields[key])
    return fields


def run(command):
    """Runs one benchmark, passing its output through; returns (exit status, RESULT lines)."""
    print(f"== {command}", flush=True)
    process = subprocess.Popen(command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results = []
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.startswith("RESULT "):
            results.append(parse(line))
    return process.wait(), results


def first_line(path, prefix):
    try:
        with open(path) as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith(prefix)), "?")
    except OSError:
        return "?"


def kvm_kind():
    # As the tests decide it (Tests/Support/DebianKernel.swift): PVM when kvm_pvm is loaded.
    if os.path.exists("/sys/module/kvm_pvm"):
        return "PVM (kvm_pvm: software-assisted nested KVM; guest ring 0 emulated, ~8 µs per exit)"
    for module in ("kvm_intel", "kvm_amd"):
        if os.path.exists(f"/sys/module/{module}"):
            return f"hardware KVM ({module})"
    return "no KVM module found"


def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def number(value):
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"


def row(r):
    value, reference, unit = r["value"], r["reference"], r["unit"]
    ratio = f"{value / reference:.2f}× ({'+' if value >= reference else '−'}{number(abs(value - reference))} {unit})" if reference else "–"
    return (f"| `{r['name']}` | {number(value)} {unit} | {number(reference)} {unit} ({r['refname']}) | {ratio} "
            f"| {r['goal']} | {r['met']} |")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    output, commands = sys.argv[1], sys.argv[2:]
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = open("/proc/loadavg").read().split()[:3]
    rows, failures = [], []
    for command in commands:
        status, results = run(command)
        if status != 0 or not results:
            failures.append(f"| `{command}` | failed (exit {status}, {len(results)} RESULT lines) | | | | no |")
        rows += [row(r) for r in results]
    load_after = open("/proc/loadavg").read().split()[:3]
    memory_kib = int(first_line("/proc/meminfo", "MemTotal").split()[0])
    changes = git("status", "--porcelain", "-uno")
    commit = git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if changes not in ("", "?") else "")
    note = os.environ.get("BENCH_NOTE", "").strip()
    text = f"""# Benchmarks

Written by `make bench` (`Benchmarks/report.py`): every figure beside its reference measured in
the same run, on this machine. Goals are each benchmark's own (its source says why).

| machine | |
|---|---|
| date | {started:%Y-%m-%d %H:%M} UTC |
| commit | {commit} |
| CPU | {first_line("/proc/cpuinfo", "model name")}, {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}) |
| memory | {memory_kib / (1 << 20):.1f} GiB |
| kernel | Linux {platform.release()} |
| KVM | {kvm_kind()} |
| load average (1, 5, 15 min) | {" ".join(load_before)} before, {" ".join(load_after)} after |
{f"{chr(10)}{note}{chr(10)}" if note else ""}
| figure | value | reference (same run) | ratio (difference) | goal | met |
|---|---|---|---|---|---|
""" + "\n".join(rows + failures) + "\n\nCommands, in order:\n\n" + "\n".join(f"    {c}" for c in commands) + "\n"
    with open(output, "w") as f:
        f.write(text)
    print(f"wrote {output}: {len(rows)} figures, {len(failures)} failed benchmarks")
    sys.exit(1 if failures else 0)


main()
