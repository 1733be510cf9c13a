#!/usr/bin/env python3
"""Prints the path of Debian's current amd64 kernel as an ELF vmlinux, fetching it once.

    debian-vmlinux.py [CACHE_DIR]      (default ~/.cache/bulkhead/kernel)

`apt-get download` the linux-image package linux-image-amd64 depends on (no install),
unpack it with `dpkg-deb -x`, and decompress the vmlinuz payload (the bzImage's
payload_offset/payload_length; xz, zstd or gzip) into CACHE_DIR/vmlinux.
"""
import glob, gzip, lzma, os, struct, subprocess, sys

cache = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/bulkhead/kernel")
vmlinux = os.path.join(cache, "vmlinux")
if not os.path.exists(vmlinux):
    os.makedirs(cache, exist_ok=True)
    query = ["apt-cache", "depends", "linux-image-amd64"]
    found = subprocess.run(query, capture_output=True, text=True)
    if found.returncode != 0 or "linux-image-" not in found.stdout:
        # A fresh machine may have no package lists yet.
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        found = subprocess.run(query, check=True, capture_output=True, text=True)
    depends = found.stdout
    package = next(l.split()[1] for l in depends.splitlines()
                   if "Depends:" in l and "linux-image-" in l)
    subprocess.run(["apt-get", "download", package], cwd=cache, check=True, capture_output=True)
    deb = sorted(glob.glob(os.path.join(cache, package + "_*.deb")))[-1]
    root = os.path.join(cache, "root")
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    image = open(sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))[-1], "rb").read()
    setup_sectors = image[0x1F1] or 4
    offset, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sectors + 1) * 512 + offset
    payload = image[start:start + length]
    if payload.startswith(b"\xfd7zXZ\x00"):
        elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
    elif payload.startswith(b"\x28\xb5\x2f\xfd"):
        elf = subprocess.run(["zstd", "-dc"], input=payload, check=True, capture_output=True).stdout
    elif payload.startswith(b"\x1f\x8b"):
        elf = gzip.decompress(payload)
    else:
        sys.exit(f"unknown vmlinuz payload compression {payload[:6]!r}")
    assert elf.startswith(b"\x7fELF"), "payload is not an ELF vmlinux"
    open(vmlinux + ".tmp", "wb").write(elf)
    os.rename(vmlinux + ".tmp", vmlinux)
    # Keep the compressed bzImage beside it for the bzImage loader tests.
    os.replace(sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))[-1], os.path.join(cache, "vmlinuz"))
print(vmlinux)
