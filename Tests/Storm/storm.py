#!/usr/bin/env python3
"""Fault storm: SIGKILL each process of a running VM at random moments and check that the run
ends, says what happened, and leaves nothing behind.

usage: Tests/Storm/storm.py --bin .build/debug [--per-victim 50] [--seed N] [--victims ...]
Run as root (/dev/kvm, taps, /run/bulkhead).

Each kill is one real `bulkhead run` of the test guest ("banner sleep=MS poweroff") with three
disks (block helper), a tap made for it with `ip tuntap add` (net helper) and a hook (exec
helper). A seeded random choice picks the moment (during start: before the guest's banner;
while the guest runs: during its sleep; during shutdown: after its last line) and the delay
within it; the victim is the parent, the worker or one helper. Then:
- the run ends within --bound seconds of the kill (else: a hang, with every process's wchan);
- its exit status and stderr say what happened (README's table: 69 and the helper named, 70
  and the worker named; a SIGKILLed parent ends by SIGKILL and its children end at their
  sockets' end of file, or their parent-death signal where the parent kept CAP_KILL: this
  driver is their subreaper and reaps them);
- afterwards no process of the run is left (BULKHEAD_RUN=<parent pid> marker, and every pid
  seen), the tap is still there and held by no process, the runtime entry /run/bulkhead/NAME
  is gone (after a killed parent: once `bulkhead status` has pruned it), no socket file and no
  cgroup directory names the VM.
A victim that ended before the kill landed (possible only during shutdown) is a "miss": the
run is repeated with a new moment. The scenario `block-mid-request` starts seven disks and
kills the block helper while the worker asks for their fds. The scenario `exec-mid-hook` adds a
`started` hook that starts a child in its process group and waits, and kills the exec helper
while that hook runs: the run must end with 69, and no process of the hook's group may be left.
Exit status 0 when every kill was judged right and nothing was left; 1 otherwise.
"""
import argparse
import fcntl
import os
import random
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bulkhead_host as host  # noqa: E402

VICTIMS = ["parent", "worker", "block", "net", "exec"]
# The scenarios beyond one kill per victim, and the role each kills.
ROLE_OF = {"block-mid-request": "block", "exec-mid-hook": "exec"}
MOMENTS = ["start", "running", "shutdown"]
HELPERS = ["block", "net", "exec"]


class Run:
    """One `bulkhead run`, its output read as it comes, its children noted as they appear."""

    def __init__(self, args, name, tap, disks, sleep_ms, hook_script=None):
        self.name = name
        self.tap = tap
        self.hook_pgid = None  # exec-mid-hook: the running hook's process group
        argv = [os.path.join(args.bin, "bulkhead"), "run", "--name", name]
        for disk in disks:
            argv += ["--disk", disk]
        if tap:
            argv += ["--net", f"tap={tap}"]
        argv += ["--hook", "up=/usr/bin/true"]
        if hook_script:
            argv += ["--hook", f"started={hook_script}", "--hook-timeout-ms", "5000"]
        argv += ["--cmdline", f"banner sleep={sleep_ms} poweroff"]
        self.argv = argv
        self.out = b""
        self.err = b""
        self.seen = {}  # role -> pid, the first time it was seen exec'd
        self.seen_at = {}  # role -> seconds after start
        self.start = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.seen["parent"] = self.proc.pid
        self.seen_at["parent"] = 0.0
        self.open = [self.proc.stdout, self.proc.stderr]
        for stream in self.open:
            fcntl.fcntl(stream.fileno(), fcntl.F_SETFL, fcntl.fcntl(stream.fileno(), fcntl.F_GETFL) | os.O_NONBLOCK)
        self.banner_at = None
        self.slept_at = None

    def elapsed(self):
        return time.monotonic() - self.start

    def pump(self, timeout=0.0):
        """Reads what is there (waiting at most `timeout`), notes children and guest lines."""
        if self.open:
            ready, _, _ = select.select(self.open, [], [], timeout)
            for stream in ready:
                try:
                    data = os.read(stream.fileno(), 65536)
                except BlockingIOError:
                    continue
                if not data:
                    self.open.remove(stream)
                elif stream is self.proc.stdout:
                    self.out += data
                else:
                    self.err += data
        elif timeout:
            time.sleep(timeout)
        if self.banner_at is None and b"bulkhead test guest" in self.out:
            self.banner_at = self.elapsed()
        if self.slept_at is None and b"slept" in self.out:
            self.slept_at = self.elapsed()
        for role, pid in host.roles_of_children(self.proc.pid).items():
            if role not in self.seen:
                self.seen[role] = pid
                self.seen_at[role] = self.elapsed()

    def phase(self):
        if self.slept_at is not None:
            return "shutdown"
        if self.banner_at is not None:
            return "running"
        return "start"

    def finish(self, bound):
        """Waits for the parent's exit and the pipes' end; False when `bound` seconds pass first."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            self.pump(0.02)
            if self.proc.poll() is not None and not self.open:
                return True
        return self.proc.poll() is not None and not self.open


def calibrate(args, disks, tap):
    """Times of one undisturbed run: when each child appears, banner, last line, exit."""
    run = Run(args, f"storm-{os.getpid()}-calibrate", tap, disks, args.sleep_ms)
    gone = {}
    while run.proc.poll() is None or run.open:
        run.pump(0.0005)
        for role, pid in run.seen.items():
            if role != "parent" and role not in gone and not host.alive(pid):
                gone[role] = run.elapsed()
    gone["parent"] = run.elapsed()
    if run.proc.returncode != 0:
        sys.exit(f"storm: the undisturbed run failed ({run.proc.returncode}): {run.err.decode(errors='replace')}")
    return {"seen": dict(run.seen_at), "banner": run.banner_at, "slept": run.slept_at, "gone": gone}


def expected_message(victim, pid):
    """What stderr must say for a killed victim (README: Running a VM)."""
    if victim == "worker":
        return [f"the worker (pid {pid}) was killed by signal 9 (SIGKILL)"]
    helper = victim
    return [f"the {helper} helper (pid {pid}) was killed by signal 9 (SIGKILL) while the VM ran",
            f"{helper} helper (pid {pid}) failed its handshake: it was killed by signal 9 (SIGKILL)",
            f"the {helper} helper (pid {pid}) was killed by signal 9 (SIGKILL) during shutdown"]


HOOK_SCRIPT = """#!/bin/sh
# exec-mid-hook: a `started` hook with a child in its group, waiting for ever; it writes its
# pid once the child runs.
sleep 600 &
echo $$ > {out}/$BULKHEAD_VM.tmp && mv {out}/$BULKHEAD_VM.tmp {out}/$BULKHEAD_VM
wait
"""


def make_hook_script(scratch):
    """The exec-mid-hook script (root's, 0755) and the directory its runs write to (1777: a
    hook runs as the exec helper's account)."""
    out = f"{scratch}/hook-out"
    os.makedirs(out, exist_ok=True)
    os.chmod(out, 0o1777)
    path = f"{scratch}/started-hook"
    with open(path, "w") as f:
        f.write(HOOK_SCRIPT.format(out=out))
    os.chmod(path, 0o755)
    return path, out


def pgid_of(pid):
    text = host.read(f"/proc/{pid}/stat")
    return int(text[text.rfind(")") + 2:].split()[2]) if text else None


def group_members(pgid):
    """Live processes of process group `pgid`; zombies among them (our orphans: this driver is
    a subreaper) are reaped."""
    members = []
    for pid in host.pids():
        if pgid_of(pid) != pgid:
            continue
        if host.alive(pid):
            members.append(pid)
        else:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
    return members


def attempt(args, rng, victim, moment, calibration, disks, index):
    """One run with one kill. Returns a result dict, or None for a miss (victim already gone)."""
    name = f"storm-{os.getpid()}-{index}"
    tap = f"bhs{os.getpid() % 10000}x{index % 1000}"
    host.create_tap(tap)
    try:
        return drive(args, rng, victim, moment, calibration, disks, name, tap)
    finally:
        host.delete_tap(tap)


def drive(args, rng, victim, moment, calibration, disks, name, tap):
    mid_hook = victim == "exec-mid-hook"
    run = Run(args, name, tap, disks, args.sleep_ms, args.hook_script if mid_hook else None)
    role = ROLE_OF.get(victim, victim)
    timeout = time.monotonic() + args.bound + args.sleep_ms / 1000

    def wait_for(condition):
        while not condition():
            if run.proc.poll() is not None and not run.open or time.monotonic() > timeout:
                return False
            run.pump(0.0005)
        return True

    # The moment: a random delay from an event of the run, within the phase's span measured
    # by the calibration run.
    if mid_hook:
        marker = f"{args.hook_out}/{name}"
        wait_for(lambda: os.path.exists(marker) and host.read(marker))
        text = host.read(marker) or ""
        if text.strip().isdigit():
            run.hook_pgid = pgid_of(int(text.strip()))
        target = run.elapsed() + rng.uniform(0, 0.02)
    elif moment == "start":
        if not wait_for(lambda: role in run.seen):
            return outcome(args, run, victim, moment, None, "victim never appeared", calibration)
        if victim == "block-mid-request":
            # The worker asks for its fds first thing after its runtime is loaded: a few ms.
            wait_for(lambda: "worker" in run.seen)
            span = args.request_window_ms / 1000
        else:
            span = calibration["banner"] - calibration["seen"].get(role, 0.0)
        delay = rng.uniform(0, max(span, 0.001))
        target = run.elapsed() + delay
    elif moment == "running":
        wait_for(lambda: run.banner_at is not None)
        delay = rng.uniform(0.05, 0.9) * args.sleep_ms / 1000
        target = run.elapsed() + delay
    else:
        wait_for(lambda: run.slept_at is not None)
        # Up to the moment the victim was gone in the undisturbed run.
        span = max(calibration["gone"].get(role, calibration["gone"]["parent"]) - calibration["slept"], 0.0005)
        delay = rng.uniform(0, span)
        target = run.elapsed() + delay
    wait_for(lambda: run.elapsed() >= target)
    run.pump()
    pid = run.seen.get(role)
    phase = run.phase()
    if pid is None or not host.alive(pid):
        return missed(run, args, victim, phase)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return missed(run, args, victim, phase)
    killed_at = time.monotonic()
    return outcome(args, run, victim, phase, pid, None, calibration, killed_at)


def missed(run, args, victim, phase):
    """The victim was gone before the kill: the run must still end cleanly and leave nothing."""
    ended = run.finish(args.bound + args.sleep_ms / 1000)
    problems = [] if ended else ["no end without a kill"]
    if run.proc.poll() is None:
        run.proc.kill()
        run.proc.wait()
    if run.proc.returncode != 0:
        problems.append(f"exit status {run.proc.returncode} without a kill")
    left = leftovers_of(run, args, parent_killed=False)
    problems += [f"left behind: {item}" for item in left]
    return {"victim": victim, "phase": phase, "pid": None, "status": run.proc.returncode, "landed": False,
            "ended_after": None, "hang": not ended, "problems": problems, "leftovers": len(left), "orphans": {},
            "stderr": run.err.decode(errors="replace"), "stdout": "", "mid_request": False, "said": ""}


def reap_orphans(known):
    """Children of the killed parent re-parented to us (subreaper): pid -> how they ended."""
    endings = {}
    deadline = time.monotonic() + 5
    pending = set(known)
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                # Not ours: already reaped by the parent before it died, or never orphaned.
                pending.discard(pid)
                continue
            if got == pid:
                endings[pid] = (f"killed by {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
                                else f"exited {os.WEXITSTATUS(status)}")
                pending.discard(pid)
        if pending:
            time.sleep(0.005)
    for pid in pending:
        endings[pid] = "still there"
    return endings


def leftovers_of(run, args, parent_killed):
    """Everything the run left on the host; [] when clean."""
    left = []
    parent = run.proc.pid
    known = [pid for role, pid in run.seen.items() if role != "parent"]
    deadline = time.monotonic() + 5
    while host.run_leftover_processes(parent, known) and time.monotonic() < deadline:
        time.sleep(0.01)
    for pid in host.run_leftover_processes(parent, known):
        left.append(f"process {host.describe(pid)}")
    if run.tap:
        if run.tap not in host.taps():
            left.append(f"tap {run.tap} (the operator's) was removed")
        holders = host.tap_holders(run.tap)
        if holders:
            left.append(f"tap {run.tap} still attached by {holders}")
    prefix = f"bhs{os.getpid() % 10000}x"
    for tap in host.taps():
        if tap.startswith(prefix) and tap != run.tap:
            left.append(f"tap {tap} left by an earlier run")
    entries = host.runtime_entries(run.name, parent)
    if entries and parent_killed:
        # A SIGKILLed parent cannot clean up: the next `bulkhead status` prunes its entry.
        subprocess.run([os.path.join(args.bin, "bulkhead"), "status", "--format", "json"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        entries = host.runtime_entries(run.name, parent)
    left += [f"runtime entry {e}" for e in entries]
    left += [f"socket file {s}" for s in host.socket_files(run.name)]
    left += [f"cgroup {c}" for c in host.cgroup_dirs([run.name, f"bulkhead-{parent}", f"bulkhead.{parent}"])]
    return left


def outcome(args, run, victim, phase, pid, problem, calibration, killed_at=None):
    """Waits for the end of the run and judges it."""
    ended = run.finish(args.bound + (0 if killed_at else args.sleep_ms / 1000))
    ended_after = time.monotonic() - killed_at if killed_at else None
    problems = [problem] if problem else []
    hang = not ended
    if hang:
        problems.append(f"no end within {args.bound} s of the kill: "
                        + "; ".join(host.describe(p) for p in [run.proc.pid] + list(run.seen.values())))
        for p in host.run_leftover_processes(run.proc.pid, run.seen.values()):
            os.kill(p, signal.SIGKILL)
        run.proc.kill()
        run.proc.wait()
        run.finish(5)
    status = run.proc.returncode
    err = run.err.decode(errors="replace")
    out = run.out.decode(errors="replace")
    role = ROLE_OF.get(victim, victim)
    parent_killed = False
    orphans = {}
    landed = True
    if role == "parent":
        parent_killed = status == -signal.SIGKILL
        orphans = reap_orphans([p for r, p in run.seen.items() if r != "parent"])
        if not parent_killed:
            landed = False
            if phase != "shutdown" or status != 0:
                problems.append(f"parent was killed but ended with {status}")
        for orphan, ending in orphans.items():
            # A child exits when its parent's sockets close (the kernel closes a dying
            # process's fds before it signals the children), or dies by SIGKILL, its
            # parent-death signal, where the parent may signal it. Any other signal is a crash.
            if not (ending == "killed by SIGKILL" or ending.startswith("exited")):
                problems.append(f"orphan {orphan} {ending} (expected SIGKILL by its parent-death signal or an exit)")
    else:
        messages = expected_message(role, pid)
        said = any(m in err for m in messages)
        wanted = 70 if role == "worker" else 69
        if status == 0 and not said and phase == "shutdown":
            landed = False  # the victim was already on its way out
        elif status != wanted and not (status == 0 and said and phase == "shutdown"):
            problems.append(f"exit status {status}, expected {wanted}")
        if landed and not said:
            problems.append(f"stderr does not say {messages[0]!r}")
    if ended_after is not None and ended_after * 1000 > args.prompt_ms:
        problems.append(f"ended {ended_after * 1000:.0f} ms after the kill (more than {args.prompt_ms} ms: "
                        "the VM went on without its process)")
    for bad in ("Fatal error", "Segmentation", "Illegal instruction", "forbidden call", "did not end"):
        if bad in err:
            problems.append(f"stderr has {bad!r}")
    left = leftovers_of(run, args, parent_killed)
    if victim == "exec-mid-hook":
        if run.hook_pgid is None:
            problems.append("the started hook never ran")
        else:
            deadline = time.monotonic() + 5
            while group_members(run.hook_pgid) and time.monotonic() < deadline:
                time.sleep(0.01)
            left += [f"hook process {host.describe(p)} (group {run.hook_pgid})" for p in group_members(run.hook_pgid)]
    problems += [f"left behind: {item}" for item in left]
    return {
        "victim": victim, "phase": phase, "pid": pid, "status": status, "landed": landed,
        "ended_after": ended_after, "hang": hang, "problems": problems, "leftovers": len(left),
        "orphans": orphans, "stderr": err, "stdout": out,
        "mid_request": "did not hand over" in err,
        "said": err.strip().splitlines()[-1] if err.strip() else "",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="directory holding bulkhead and its helpers")
    parser.add_argument("--per-victim", type=int, default=50, help="kills per victim")
    parser.add_argument("--mid-request", type=int, default=None,
                        help="block-mid-request kills (default: per-victim)")
    parser.add_argument("--mid-hook", type=int, default=None,
                        help="exec-mid-hook kills (default: per-victim)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--victims", default=",".join(VICTIMS))
    parser.add_argument("--sleep-ms", type=int, default=400, help="the guest's sleep step")
    parser.add_argument("--bound", type=float, default=10.0, help="seconds a run may take to end after the kill")
    parser.add_argument("--prompt-ms", type=float, default=450.0,
                        help="a run must end this soon after the kill: below the supervisor's 500 ms grace, "
                             "after which a process that ignored the polite stop is killed")
    parser.add_argument("--request-window-ms", type=float, default=8.0,
                        help="block-mid-request: the kill lands this long at most after the worker appears")
    parser.add_argument("--max-misses", type=int, default=400, help="give up on shutdown kills after this many misses")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("storm: run as root (/dev/kvm, taps, /run/bulkhead)")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    rng = random.Random(seed)
    print(f"storm: seed {seed}, {args.per_victim} kills per victim, bin {args.bin}", flush=True)
    host.become_subreaper()
    scratch = f"/tmp/bulkhead-storm-{os.getpid()}"
    os.makedirs(scratch, exist_ok=True)
    disks = []
    for i in range(7):
        path = f"{scratch}/disk{i}.img"
        with open(path, "wb") as f:
            f.truncate(1 << 20)
        host.give_to_helper_account(path)
        disks.append(path)
    started = time.monotonic()
    calibration_tap = f"bhs{os.getpid() % 10000}cal"
    host.create_tap(calibration_tap)
    try:
        calibration = calibrate(args, disks[:3], calibration_tap)
    finally:
        host.delete_tap(calibration_tap)
    print("storm: undisturbed run: " + ", ".join(f"{r} at {t * 1000:.0f} ms" for r, t in calibration["seen"].items())
          + f", banner {calibration['banner'] * 1000:.0f} ms, last line {calibration['slept'] * 1000:.0f} ms, gone: "
          + ", ".join(f"{r} {t * 1000:.0f} ms" for r, t in calibration["gone"].items()), flush=True)
    mid_calibration = dict(calibration)

    plan = []
    for victim in args.victims.split(","):
        if victim not in VICTIMS:
            sys.exit(f"storm: unknown victim {victim}")
        plan += [(victim, rng.choice(MOMENTS)) for _ in range(args.per_victim)]
    plan += [("block-mid-request", "start")] * (args.per_victim if args.mid_request is None else args.mid_request)
    plan += [("exec-mid-hook", "running")] * (args.per_victim if args.mid_hook is None else args.mid_hook)
    args.hook_script, args.hook_out = make_hook_script(scratch)
    rng.shuffle(plan)

    results = []
    misses = 0
    index = 0
    for victim, moment in plan:
        while True:
            index += 1
            use_disks = disks if victim == "block-mid-request" else disks[:3]
            result = attempt(args, rng, victim, moment, mid_calibration if victim == "block-mid-request" else calibration,
                             use_disks, index)
            if not result["landed"] and not result["problems"]:
                misses += 1
                if misses > args.max_misses:
                    sys.exit(f"storm: more than {args.max_misses} misses; the shutdown window is too short to hit")
                continue
            break
        results.append(result)
        verdict = "ok" if not result["problems"] else "FAIL"
        ended = f"{result['ended_after'] * 1000:.0f} ms" if result["ended_after"] is not None else "-"
        print(f"{len(results):4} {victim:17} {moment:8}->{result['phase']:8} pid {result['pid']:<7} exit {result['status']:<4} "
              f"ended {ended:>7} {verdict}  {result['said'][:110]}", flush=True)
        for problem in result["problems"]:
            print(f"       problem: {problem}", flush=True)
        if result["problems"]:
            print("       stderr: " + result["stderr"].replace("\n", "\n               "), flush=True)

    wall = time.monotonic() - started
    report(results, misses, wall, seed)
    os.system(f"rm -rf {scratch}")
    return 1 if any(r["problems"] for r in results) else 0


def report(results, misses, wall, seed):
    print("\nstorm: kills per victim x moment (exit statuses seen)")
    victims = sorted({r["victim"] for r in results}, key=lambda v: (VICTIMS + list(ROLE_OF)).index(v))
    print(f"  {'victim':17} " + " ".join(f"{m:>22}" for m in MOMENTS) + "   total")
    for victim in victims:
        cells = []
        for moment in MOMENTS:
            rs = [r for r in results if r["victim"] == victim and r["phase"] == moment]
            statuses = {}
            for r in rs:
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
            text = f"{len(rs)} (" + ",".join(f"{s}x{n}" for s, n in sorted(statuses.items())) + ")" if rs else "0"
            cells.append(f"{text:>22}")
        print(f"  {victim:17} " + " ".join(cells) + f"   {len([r for r in results if r['victim'] == victim])}")
    orphan_endings = {}
    for r in results:
        for ending in r["orphans"].values():
            orphan_endings[ending] = orphan_endings.get(ending, 0) + 1
    ends = [r["ended_after"] for r in results if r["ended_after"] is not None]
    failed = [r for r in results if r["problems"]]
    mid = [r for r in results if r["victim"] == "block-mid-request"]
    print(f"  children of killed parents: " + (", ".join(f"{n} {e}" for e, n in orphan_endings.items()) or "none"))
    print(f"  block-mid-request: {sum(r['mid_request'] for r in mid)} of {len(mid)} killed while the worker waited"
          " for an fd (its 'did not hand over' line)")
    print(f"  end after the kill: max {max(ends) * 1000:.0f} ms, hangs {sum(r['hang'] for r in results)}" if ends else "")
    print(f"  leftovers: {sum(r['leftovers'] for r in results)}; misses (victim gone before the kill) {misses}")
    print(f"  kills {len(results)}, failed {len(failed)}, wall {wall:.0f} s, seed {seed}")
    print("storm: PASS" if not failed else "storm: FAIL")


if __name__ == "__main__":
    sys.exit(main())
