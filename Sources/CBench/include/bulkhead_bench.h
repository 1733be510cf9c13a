// Measurement helpers for the benchmarks (CPU_SET is a macro, sched_setaffinity needs
// _GNU_SOURCE; neither reaches Swift). Not used by any confined process.
#ifndef BULKHEAD_BENCH_H
#define BULKHEAD_BENCH_H

/// sched_setaffinity(0, {cpu}): pins the calling thread (and children forked later) to
/// one CPU. Returns 0 or -errno.
int bh_pin_to_cpu(int cpu);

#endif
