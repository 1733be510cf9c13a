#!/bin/sh
# Guest sequential read of 256 MiB through virtio-blk (test guest step blk-read, ring-3
# polling driver, io thread under its filter, preadv straight into guest memory) against
# dd of the same page-cached file on the host. One run each, printed side by side.
#   Benchmarks/VirtioRead/virtio-read.sh [WORKER]   (default: release build, built here)
# The guest reads the disk twice in one boot: the first pass also pays for the first touch
# of its buffer and rings (host page faults), the second is the steady state. Like dd, the
# guest reads every 1 MiB request into the same buffer and discards the data.
# Goal: the second pass reaches at least 50% of dd's rate (the RESULT line, for
# Benchmarks/report.py, says whether it did).
set -eu
cd "$(dirname "$0")/../.."
worker=${1:-}
if [ -z "$worker" ]; then
    swift build -c release --scratch-path .build-virtio-release --product bulkhead-worker >/dev/null
    worker=.build-virtio-release/release/bulkhead-worker
fi
file=$(mktemp /tmp/bulkhead-virtio-read.XXXXXX)
trap 'rm -f "$file"' EXIT
head -c 256M /dev/urandom > "$file"
cat "$file" > /dev/null  # page-cached

host=$(dd if="$file" of=/dev/null bs=1M 2>&1 | tail -1)
guest=$(SWIFT_BACKTRACE=enable=no "$worker" --kvm-fd 3 --memory 128 --disk-fd 5 \
    --cmdline "blk-read=0,256 blk-read=0,256" 3<>/dev/kvm 5<"$file")

host_mbs=$(echo "$host" | awk '{ for (i = 1; i < NF; i++) if ($(i+1) ~ /s,$/) t = $i; printf "%d", 268435456 / t / 1e6 }')
first=$(echo "$guest" | sed -n 1p | awk '{ print $(NF-1) }')
second=$(echo "$guest" | sed -n 2p | awk '{ print $(NF-1) }')
echo "host  dd if=FILE of=/dev/null bs=1M: $host_mbs MB/s   ($host)"
echo "guest blk-read=0,256, first pass:    $first MB/s   (first touch of guest memory)"
echo "guest blk-read=0,256, second pass:   $second MB/s   = $((100 * second / host_mbs))% of host"
met=no
[ $((100 * second / host_mbs)) -ge 50 ] && met=yes
echo "RESULT name=virtio.read value=$second unit=MB/s reference=$host_mbs refname=\"host dd, same page-cached file\" goal=\"at least 50 % of host\" met=$met"
