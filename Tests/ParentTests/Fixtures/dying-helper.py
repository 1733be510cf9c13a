#!/usr/bin/env python3
"""A stand-in helper, started by the real parent (through --helpers DIR, linked as
bulkhead-block or bulkhead-exec), that answers the parent's `hello` (Protocol/PROTOCOL.md) and
then dies by a SIGKILL of its own, as a helper killed from outside does:
- as bulkhead-block, mid-request: on the worker's first request it closes its socket without
  an answer, waits 300 ms, then dies. The worker sees its request's peer hang up and exits at
  once, so the parent reaps the worker well before this helper, as it can when a real helper
  is killed mid-request (the kernel closes a dying process's sockets before it is a zombie);
- as bulkhead-exec (which the worker never calls), during shutdown: when the parent hangs up
  after the guest powered off."""
import os, signal, socket, struct, sys, time

args = sys.argv[1:]
# Not from argv[0]: the parent runs the checked file by its fd (execveat), so a script's
# interpreter sees /dev/fd/N as its name. The declarations say which helper it stands in for.
role = "block" if "--file" in args else "exec" if "--hook" in args else "net"
sock = socket.socket(fileno=int(args[args.index("--socket-fd") + 1]))
MAGIC, VERSION, HELLO = 0x4B4C4842, 1, 1


def field(tag, value):
    return struct.pack("<BI", tag, len(value)) + value


def u32(value):
    return field(2, struct.pack("<I", value))


while True:
    request = sock.recv(8192)
    if not request:
        break  # the parent hung up
    request_id, command = struct.unpack_from("<IH", request, 8)
    if command != HELLO:
        sock.close()
        time.sleep(0.3)
        break
    body = field(7, role.encode()) + u32(1) + u32(8192) + u32(4) + u32(4096)
    sock.send(struct.pack("<IHBBIHHII", MAGIC, VERSION, 2, 0, request_id, command, 0, len(body), 0) + body)
os.kill(os.getpid(), signal.SIGKILL)
