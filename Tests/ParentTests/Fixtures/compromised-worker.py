#!/usr/bin/env python3
"""A stand-in for bulkhead-worker, started by the real parent (through --helpers DIR), that
behaves like a worker the guest has taken over: it speaks the helper protocol
(Protocol/PROTOCOL.md) on the sockets the parent handed it and asks for things it was not
declared. It prints one line per request to stdout (the console), `poweroff 0` on the status
fd, and exits 0. Written from the specification alone, independently of the Swift codec."""
import os, socket, struct, sys

args = sys.argv[1:]
def option(flag):
    return [args[i + 1] for i in range(len(args) - 1) if args[i] == flag]

MAGIC, VERSION = 0x4B4C4842, 1
HELLO, BLOCK_OPEN, NET_OPEN_TAP = 1, 16, 32
request_id = 0

def field(tag, value):
    return struct.pack("<BI", tag, len(value)) + value

def call(sock, command, body):
    global request_id
    request_id += 1
    header = struct.pack("<IHBBIHHII", MAGIC, VERSION, 1, 0, request_id, command, 0, len(body), 0)
    sock.sendmsg([header + body])
    data, ancillary, _, _ = sock.recvmsg(8192, socket.CMSG_LEN(4 * 4))
    fds = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += list(struct.unpack(f"<{len(payload) // 4}i", payload[: len(payload) // 4 * 4]))
    kind = data[6]
    return ("reply" if kind == 2 else "error" if kind == 3 else f"kind {kind}"), data[24:], fds

def error_message(body):
    # code: u32 field (5 + 4 bytes), then message: string field
    length = struct.unpack_from("<I", body, 10)[0]
    return body[14 : 14 + length].decode()

def block_open(sock, path, access):
    kind, body, fds = call(sock, BLOCK_OPEN, field(6, path.encode()) + field(5, bytes([access])))
    for fd in fds:
        os.close(fd)
    detail = f"{len(fds)} fd" if kind == "reply" else error_message(body)
    print(f"block.open {path} {'rw' if access else 'ro'}: {kind}: {detail}", flush=True)

def open_tap(sock, name):
    kind, body, fds = call(sock, NET_OPEN_TAP, field(7, name.encode()))
    for fd in fds:
        os.close(fd)
    print(f"net.open-tap {name}: {kind}: {f'{len(fds)} fd' if kind == 'reply' else error_message(body)}", flush=True)

if option("--block-socket-fd"):
    block = socket.socket(fileno=int(option("--block-socket-fd")[0]))
    kind, _, _ = call(block, HELLO, field(2, struct.pack("<I", 1)))
    print(f"hello block: {kind}", flush=True)
    for disk in option("--disk"):
        path = disk.removesuffix(",readonly")
        block_open(block, path, 0)
        block_open(block, path, 1)
    for path in ["/etc/shadow", "/proc/self/root/etc/shadow", "/dev/kvm"]:
        block_open(block, path, 0)
if option("--net-socket-fd"):
    net = socket.socket(fileno=int(option("--net-socket-fd")[0]))
    for tap in option("--tap"):
        open_tap(net, tap.split(",")[0])
    open_tap(net, "eth0")
    open_tap(net, "lo")
status = int(option("--status-fd")[0])
os.write(status, b"poweroff 0\n")
