import Glibc

/// Runs `body` while holding a machine-wide lock, so Linux boots run one at a time.
/// Under PVM a Linux kernel's ring-0 code is emulated an instruction at a time; two or three
/// boots sharing two cores (with the rest of the suite) miss their time limits, one at a time
/// each takes about 20 s. flock(2) on a file in /tmp holds across test targets and processes.
public func withKernelBootLock<T>(_ body: () throws -> T) rethrows -> T {
    let fd = open("/tmp/bulkhead-kernel-boot.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot open the kernel boot lock: errno \(errno)")
    defer { close(fd) }  // closing releases the lock
    while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
    return try body()
}
