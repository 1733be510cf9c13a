#!/usr/bin/env python3
"""The control socket's cost (README "Operating a running VM"), each figure beside a reference
from the same run:

- control.info-rtt: one `info` request and its reply on /run/bulkhead/NAME/control (the sealed
  parent answers it itself), beside a raw SOCK_SEQPACKET ping-pong of the same sizes between
  this process and a forked echo child: what the parent's checks, encoding and poll loop add.
- control.pause-1cpu, control.pause-2cpu: `pause` request to reply, i.e. the parent forwarding
  it to the worker and every vCPU out of KVM_RUN and held (then `resume`, untimed), beside the
  `info` round trip of the same VM: what the worker and the kick add.

usage: control-bench.py BUILD_DIR [ROUNDS]   (BUILD_DIR holds bulkhead and bulkhead-worker)
Medians of ROUNDS (default 2000 round trips, 200 pauses). Prints RESULT lines for report.py.
"""
import os, shutil, socket, statistics, struct, subprocess, sys, tempfile, time

MAGIC = 0x4B4C4842


def datagram(request_id, command, body=b""):
    return struct.pack("<IHBBIHHII", MAGIC, 1, 1, 0, request_id, command, 0, len(body), 0) + body


def round_trips(sock, command, count):
    times = []
    for i in range(count):
        request = datagram(i + 1, command)
        start = time.perf_counter_ns()
        sock.send(request)
        reply = sock.recv(8192)
        times.append(time.perf_counter_ns() - start)
        if len(reply) < 24 or reply[6] != 2:
            raise SystemExit(f"command {command}: not a reply: {reply[:32].hex()}")
    return statistics.median(times) / 1000.0


def raw_round_trip(count, size):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        ours.close()
        while True:
            data = theirs.recv(8192)
            if not data:
                os._exit(0)
            theirs.send(data[:size] if len(data) >= size else data)
    theirs.close()
    message = datagram(1, 64)
    times = []
    for _ in range(count):
        start = time.perf_counter_ns()
        ours.send(message)
        ours.recv(8192)
        times.append(time.perf_counter_ns() - start)
    ours.close()
    os.waitpid(pid, 0)
    return statistics.median(times) / 1000.0


def start_vm(build, runtime, name, cpus):
    command = [os.path.join(build, "bulkhead"), "run", "--name", name, "--cpus", str(cpus), "--console", "none",
               "--cmdline", "tick=100000,100"]
    if os.geteuid() == 0:
        uid = 600000 + os.getpid() % 50000 * 2 + cpus
        command += ["--uid-range", f"{uid}-{uid}"]
    vm = subprocess.Popen(command, env=dict(os.environ, BULKHEAD_RUNTIME_DIR=runtime),
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    path = os.path.join(runtime, name, "control")
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            sock.connect(path)
            sock.send(datagram(1, 64))
            if sock.recv(8192)[6] == 2:
                return vm, sock
        except OSError:
            time.sleep(0.02)
    vm.kill()
    raise SystemExit(f"the VM never served {path}: {vm.stderr.read().decode()[:500]}")


def pauses(sock, count):
    times = []
    for i in range(count):
        start = time.perf_counter_ns()
        sock.send(datagram(2 * i + 1, 66))
        reply = sock.recv(8192)
        times.append(time.perf_counter_ns() - start)
        if reply[6] != 2:
            raise SystemExit(f"pause refused: {reply.hex()}")
        sock.send(datagram(2 * i + 2, 67))
        if sock.recv(8192)[6] != 2:
            raise SystemExit("resume refused")
    return statistics.median(times) / 1000.0


def main():
    build = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    runtime = tempfile.mkdtemp(prefix=f"bulkhead-control-bench-{os.getpid()}-")
    os.chmod(runtime, 0o755)
    try:
        figures = {}
        for cpus in (1, 2):
            vm, sock = start_vm(build, runtime, f"bench-{os.getpid()}-{cpus}", cpus)
            try:
                info = round_trips(sock, 64, rounds)
                pause = pauses(sock, max(rounds // 10, 20))
                figures[cpus] = (info, pause)
                print(f"{cpus} vCPU(s): info round trip {info:.1f} us, pause (all vCPUs out) {pause:.1f} us")
            finally:
                sock.close()
                vm.terminate()
                vm.wait(timeout=10)
        raw = raw_round_trip(rounds, 140)
        info1 = figures[1][0]
        print(f"raw SOCK_SEQPACKET round trip {raw:.1f} us")
        print(f'RESULT name=control.info-rtt value={info1:.1f} unit=us reference={raw:.1f} refname="raw SEQPACKET round trip" '
              f'goal="<= 4x raw" met={"yes" if info1 <= 4 * raw else "no"}')
        for cpus in (1, 2):
            info, pause = figures[cpus]
            print(f'RESULT name=control.pause-{cpus}cpu value={pause:.1f} unit=us reference={info:.1f} '
                  f'refname="info round trip, same VM" goal="<= 1000 us" met={"yes" if pause <= 1000 else "no"}')
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


main()
