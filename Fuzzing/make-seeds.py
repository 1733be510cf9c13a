#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into Tests/FuzzInputs/TARGET/seed-*:
a few valid inputs each, built the way the production encoders build them. Crash
reproducers live beside them as crash-* files and are never overwritten by this script."""
import os
import struct
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "FuzzInputs")


def write(target, name, data):
    folder = os.path.join(root, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


# Protocol (PROTOCOL.md): a field is tag, u32 length, value; the header is 24 bytes.
TAGS = {"bool": 1, "u32": 2, "i32": 3, "u64": 4, "enum": 5, "bytes": 6, "string": 7, "strings": 8}


def field(kind, value):
    return bytes([TAGS[kind]]) + struct.pack("<I", len(value)) + value


def string(text):
    return field("string", text.encode())


def datagram(kind, request_id, command, body, fds=0):
    return struct.pack("<IHBBIHHII", 0x4B4C4842, 1, kind, fds, request_id, command, 0, len(body), 0) + body


def protocol():
    # kinds: 1 request, 2 reply, 3 error; commands: 1 hello, 2 echo, 16 block.open, 32 net.open-tap, 48 exec.run-hook
    write("protocol-decoder", "hello-request", datagram(1, 1, 1, field("u32", struct.pack("<I", 1))))
    write("protocol-decoder", "hello-reply", datagram(2, 1, 1, string("bulkhead-block") + b"".join(
        field("u32", struct.pack("<I", v)) for v in (1, 8192, 4, 4096))))
    write("protocol-decoder", "echo-request", datagram(1, 2, 2, field("bytes", b"\x01\x02\x03")))
    write("protocol-decoder", "block-open-request", datagram(1, 3, 16, field("bytes", b"/var/lib/vm/disk.img") + field("enum", b"\x01"), 0))
    write("protocol-decoder", "block-open-reply", datagram(2, 3, 16, field("u64", struct.pack("<Q", 1 << 20)) + field("enum", b"\x01") + field("enum", b"\x00"), 1))
    write("protocol-decoder", "net-open-tap-request", datagram(1, 4, 32, string("tap0")))
    write("protocol-decoder", "exec-run-hook-request", datagram(1, 5, 48, string("up") + field("strings", string("a") + string("bb") + string(""))))
    write("protocol-decoder", "exec-run-hook-reply", datagram(2, 5, 48, field("i32", struct.pack("<i", 0)) + field("i32", struct.pack("<i", 0)) + field("bytes", b"ok\n") + field("bool", b"\x00") + field("bool", b"\x00")))
    write("protocol-decoder", "error-reply", datagram(3, 6, 16, field("u32", struct.pack("<I", 9)) + string("refused: not declared")))


def protocol_server():
    # byte 0: fds sent along, byte 1: helper (0 block, 1 net, 2 exec), then the datagram.
    write("protocol-server", "hello", bytes([0, 0]) + datagram(1, 1, 1, field("u32", struct.pack("<I", 1))))
    write("protocol-server", "hello-version-2-refused", bytes([0, 1]) + datagram(1, 1, 1, field("u32", struct.pack("<I", 2))))
    write("protocol-server", "block-open-refused", bytes([0, 0]) + datagram(1, 3, 16, field("bytes", b"/var/lib/vm/disk.img") + field("enum", b"\x01")))
    write("protocol-server", "block-open-with-fd-refused", bytes([1, 0]) + datagram(1, 3, 16, field("bytes", b"/var/lib/vm/disk.img") + field("enum", b"\x00"), 1))
    write("protocol-server", "net-open-tap-refused", bytes([0, 1]) + datagram(1, 4, 32, string("tap0")))
    write("protocol-server", "exec-run-hook-six-fds-refused", bytes([6, 2]) + datagram(1, 5, 48, string("up") + field("strings", string("a")), 4))
    write("protocol-server", "echo-test-only-refused", bytes([0, 2]) + datagram(1, 2, 2, field("bytes", b"\x01\x02\x03")))


def block_path():
    write("block-path", "disk-rw", b"\x01~/disk.img")
    write("block-path", "kernel-ro", b"\x00~/kernel")
    write("block-path", "kernel-rw-refused", b"\x01~/kernel")
    write("block-path", "dotdot-refused", b"\x00~/../etc/passwd")
    write("block-path", "proc-magic-link-refused", b"\x00/proc/self/root/etc/shadow")


def elf(segments, entry):
    """A minimal ELF64 x86-64 executable with PT_LOAD segments (offset, paddr, data, memsz)."""
    phoff = 64
    header = bytearray(64)
    header[0:4] = b"\x7fELF"
    header[4], header[5], header[6] = 2, 1, 1
    struct.pack_into("<HHIQQQIHHHHHH", header, 16, 2, 62, 1, entry, entry, phoff, 0, 64, 56, len(segments), 0, 0, 0)
    struct.pack_into("<Q", header, 32, phoff)
    image = bytearray(header) + bytearray(56 * len(segments))
    for i, (offset, paddr, data, memsz) in enumerate(segments):
        struct.pack_into("<IIQQQQQQ", image, 64 + 56 * i, 1, 7, offset, paddr | 0xFFFFFFFF80000000, paddr, len(data), memsz, 0x1000)
        if len(image) < offset + len(data):
            image += bytearray(offset + len(data) - len(image))
        image[offset:offset + len(data)] = data
    return bytes(image)


def elf_loader():
    code = b"\xf4" * 64  # hlt
    write("elf-loader", "one-segment", elf([(0x200, 0x100000, code, 0x1000)], 0x100000))
    write("elf-loader", "virtual-entry", elf([(0x200, 0x1000000, code, 0x2000)], 0xFFFFFFFF81000000))
    write("elf-loader", "two-segments-bss", elf([(0x200, 0x100000, code, 0x1000), (0x400, 0x200000, code, 0x10000)], 0x100010))


def bzimage(setup_sectors=1, version=0x020F, kernel=b"\xf4" * 1024, init_size=0x10000, xlf=1):
    image = bytearray(512 * (setup_sectors + 1))
    image[0x1F1] = setup_sectors
    struct.pack_into("<H", image, 0x1FE, 0xAA55)
    image[0x201] = 0x66  # setup header length past 0x202
    struct.pack_into("<I", image, 0x202, 0x53726448)  # "HdrS"
    struct.pack_into("<H", image, 0x206, version)
    image[0x211] = 0x01  # LOADED_HIGH
    struct.pack_into("<H", image, 0x236, xlf)
    struct.pack_into("<I", image, 0x260, init_size)
    return bytes(image) + kernel


def bzimage_loader():
    write("bzimage-loader", "minimal", bzimage())
    write("bzimage-loader", "four-setup-sectors", bzimage(setup_sectors=4, kernel=b"\x90" * 2048))
    write("bzimage-loader", "protocol-2.12", bzimage(version=0x020C, init_size=0x200000))
    write("bzimage-loader", "no-64-bit-entry-refused", bzimage(xlf=0))


def virtqueue(size, table, avail, used, memory, features=0):
    header = struct.pack("<HBBIII", size, features, 0, table, avail, used)
    return header + bytes(memory)


def descriptor(address, length, flags, next_index):
    return struct.pack("<QIHH", address, length, flags, next_index)


def virtqueue_seeds():
    NEXT, WRITE, INDIRECT = 1, 2, 4
    table, avail, used = 0x0, 0x1000, 0x2000
    header_at, data_at, status_at = 0x3000, 0x4000, 0x5000

    def request(kind, sector):
        return struct.pack("<IIQ", kind, 0, sector)

    def layout(descriptors, heads, extra, indirect_table=None):
        memory = bytearray(0x6000)
        for i, d in enumerate(descriptors):
            memory[table + 16 * i:table + 16 * i + 16] = d
        struct.pack_into("<HH", memory, avail, 0, len(heads))
        for i, h in enumerate(heads):
            struct.pack_into("<H", memory, avail + 4 + 2 * i, h)
        for address, data in extra:
            memory[address:address + len(data)] = data
        return memory

    read = [descriptor(header_at, 16, NEXT, 1), descriptor(data_at, 512, NEXT | WRITE, 2), descriptor(status_at, 1, WRITE, 0)]
    write("virtqueue", "block-read", virtqueue(8, table, avail, used, layout(read, [0], [(header_at, request(0, 1))])))
    write_ = [descriptor(header_at, 16, NEXT, 1), descriptor(data_at, 512, NEXT, 2), descriptor(status_at, 1, WRITE, 0)]
    write("virtqueue", "block-write", virtqueue(8, table, avail, used, layout(write_, [0], [(header_at, request(1, 2))])))
    getid = [descriptor(header_at, 16, NEXT, 1), descriptor(data_at, 20, NEXT | WRITE, 2), descriptor(status_at, 1, WRITE, 0)]
    write("virtqueue", "block-get-id-and-flush", virtqueue(8, table, avail, used, layout(
        getid + [descriptor(header_at + 16, 16, NEXT, 4), descriptor(status_at + 1, 1, WRITE, 0)], [0, 3],
        [(header_at, request(8, 0)), (header_at + 16, request(4, 0))])))
    indirect_table = 0x5800
    indirect = [descriptor(indirect_table, 48, INDIRECT, 0)]
    write("virtqueue", "block-read-indirect", virtqueue(8, table, avail, used, layout(
        indirect, [0], [(header_at, request(0, 0)), (indirect_table, b"".join(read))]), features=1))


def run_options():
    # byte 0 picks the option: --disk, --net, --hook, --hook-arg, --connect, --uid-range, --memory, --name,
    # --memory-limit, --pids-limit
    for name, index, value in [
        ("disk", 0, "/var/lib/vm/disk.img,readonly"), ("net", 1, "tap=tap0,mac=52:54:00:12:34:56"),
        ("hook", 2, "up=/usr/libexec/bulkhead/up"), ("hook-arg", 3, "up=--verbose"),
        ("connect", 4, "block=/run/bulkhead-block.sock,net=/run/bulkhead-net.sock"), ("uid-range", 5, "200000-265535"),
        ("memory", 6, "64"), ("name", 7, "vm-1234"), ("memory-limit", 8, "256MiB"), ("pids-limit", 9, "512"),
        ("mac-with-sign-refused", 1, "tap=tap0,mac=52:54:00:12:34:+1"), ("uid-range-with-sign-refused", 5, "+1000-2000"),
    ]:
        write("run-options", name, bytes([index]) + value.encode())


def argv(*items):
    return b"\0".join(i.encode() for i in items)


def helper_arguments():
    write("helper-arguments", "block", b"\x00" + argv("--socket-fd", "3", "--seccomp", "kill", "--file", "ro:/var/lib/vm/vmlinux", "--file", "rw:/var/lib/vm/disk.img"))
    write("helper-arguments", "net", b"\x01" + argv("--socket-fd", "3", "--tap", "tap0", "--tap", "bh-tap.1"))
    write("helper-arguments", "exec", b"\x02" + argv("--listen", "--seccomp", "trap", "--hook", "up=/usr/libexec/up", "--hook-arg", "up=eth0", "--hook-timeout-ms", "5000"))
    write("helper-arguments", "config", b"\x00" + argv("--socket-fd", "4", "--config", "/etc/bulkhead/block.conf"))


def helper_config_file():
    write("helper-config-file", "block", b"# bulkhead-block: declared files\nfile ro:/var/lib/bulkhead/vmlinux\nfile rw:/var/lib/bulkhead/disk.img\n")
    write("helper-config-file", "net", b"tap tap0\n\ntap tap1\n")
    write("helper-config-file", "exec", b"hook up=/usr/libexec/bulkhead/up\nhook-arg up=a value with spaces \nhook-timeout-ms 2000\n")


def worker_reports():
    write("worker-reports", "trap", b"\x00bulkhead-sigsys syscall=257 arch=0xc000003e thread=vcpu0 pid=1234")
    write("worker-reports", "audit", b'\x016,1234,5678,-;audit: type=1326 audit(1700000000.123:42): auid=4294967295 uid=200000 gid=200000 ses=4294967295 subj=unconfined pid=2778 comm="vcpu0" exe="/usr/bin/bulkhead-worker" sig=31 arch=c000003e syscall=257 compat=0 ip=0x7f0000001234 code=0x80000000')
    write("worker-reports", "status", b"\x02Name:\tvcpu0\nUid:\t200000\t200000\t200000\t200000\nGid:\t200000\t200000\t200000\t200000\nCapEff:\t0000000000000000\nCapPrm:\t0000000000000000\nCapBnd:\t000001ffffffffff\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t2\n")
    write("worker-reports", "limits", b"\x03Limit                     Soft Limit           Hard Limit           Units     \nMax open files            64                   64                   files     \nMax processes             0                    0                    processes \nMax file size             unlimited            unlimited            bytes     \n")


def control_requests():
    # byte 0: denied groups (1 inspect, 2 lifecycle, 4 console); byte 1 even: a datagram, odd: a worker metrics line.
    # commands: 64 info, 65 metrics, 66 pause, 67 resume, 68 stop, 70 console, 71 console.read, 72 console.write
    write("control-requests", "hello", bytes([0, 0]) + datagram(1, 1, 1, field("u32", struct.pack("<I", 1))))
    write("control-requests", "info", bytes([0, 0]) + datagram(1, 2, 64, b""))
    write("control-requests", "info-inspect-denied-refused", bytes([1, 0]) + datagram(1, 2, 64, b""))
    write("control-requests", "pause", bytes([0, 0]) + datagram(1, 3, 66, b""))
    write("control-requests", "stop", bytes([0, 0]) + datagram(1, 4, 68, field("u32", struct.pack("<I", 5000))))
    write("control-requests", "stop-lifecycle-denied-refused", bytes([2, 0]) + datagram(1, 4, 68, field("u32", struct.pack("<I", 5000))))
    write("control-requests", "block-open-not-served-refused", bytes([0, 0]) + datagram(1, 5, 16, field("bytes", b"/etc/shadow") + field("enum", b"\x00")))
    write("control-requests", "echo-test-only-refused", bytes([0, 0]) + datagram(1, 6, 2, field("bytes", b"x")))
    write("control-requests", "console", bytes([0, 0]) + datagram(1, 7, 70, b""))
    write("control-requests", "console-console-denied-refused", bytes([4, 0]) + datagram(1, 7, 70, b""))
    write("control-requests", "console-read", bytes([0, 0]) + datagram(1, 8, 71, b""))
    write("control-requests", "console-write", bytes([0, 0]) + datagram(1, 9, 72, field("bytes", b"root\r\n")))
    write("control-requests", "console-write-oversized-refused", bytes([0, 0]) + datagram(1, 9, 72, field("bytes", b"x" * 4097)))
    write("control-requests", "console-write-denied-refused", bytes([4, 0]) + datagram(1, 9, 72, field("bytes", b"x")))
    write("control-requests", "metrics-line", bytes([0, 1]) + b"metrics vcpu0.exits.io=12 vcpu0.exits.mmio=3 virtio0.blk.requests=64 virtio0.blk.bytes=67108864 console.bytes=100")
    write("control-requests", "metrics-line-malformed-refused", bytes([0, 1]) + b"metrics vcpu0.exits.io=012 x=")


for make in (protocol, protocol_server, block_path, elf_loader, bzimage_loader, virtqueue_seeds, run_options, helper_arguments, helper_config_file, worker_reports, control_requests):
    make()
print("seeds written under", os.path.normpath(root), file=sys.stderr)
