// bulkhead-filter-bench: what a seccomp filter costs per call, measured side by side with
// the unfiltered reference in one run. Filters only ever stack, so one thread measures the
// reference first and then loads worker-base, the vcpu role, and more vcpu copies on top.
// Run: make bench   (or swift build -c release --product bulkhead-filter-bench && .build/release/bulkhead-filter-bench)
import Glibc

exit(runFilterBench())
