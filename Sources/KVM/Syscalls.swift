import CWorker
import Glibc

// The raw libc entry points, in one place so the typed wrappers above them stay readable.

/// ioctl with an integer argument, passed as the unsigned long the kernel reads.
@inline(__always) func ioctlInt(_ fd: Int32, _ request: UInt, _ argument: UInt) -> Int32 {
    bh_ioctl_value(fd, request, argument)
}

@inline(__always) func ioctlPointer(_ fd: Int32, _ request: UInt, _ pointer: UnsafeMutableRawPointer) -> Int32 {
    Glibc.ioctl(fd, request, pointer)
}

@inline(__always) func currentErrno() -> Int32 { Glibc.errno }
