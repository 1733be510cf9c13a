import CBench
import Glibc

/// sched_setaffinity to one CPU for the calling process; children forked later inherit it.
func pin(toCPU cpu: Int) {
    let result = bh_pin_to_cpu(Int32(cpu))
    guard result == 0 else { fatalError("sched_setaffinity(cpu \(cpu)) failed: errno \(-result)") }
}

/// clock_gettime(CLOCK_MONOTONIC) in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
