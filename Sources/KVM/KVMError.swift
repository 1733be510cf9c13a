import SystemPackage

/// Why a KVM operation failed. Each case names the ioctl or call at fault.
public enum KVMError: Error, CustomStringConvertible, Equatable {
    /// An ioctl or libc call failed with errno.
    case system(call: String, errno: Errno)
    /// /dev/kvm speaks another API version than 12 (KVM_API_VERSION).
    case unsupportedAPIVersion(Int32)
    /// A guest address range lies outside guest memory.
    case outsideGuestMemory(address: UInt64, count: Int)
    /// A request the bindings refuse before asking the kernel.
    case invalid(String)

    public var description: String {
        switch self {
        case .system(let call, let errno): "\(call) failed: \(errno)"
        case .unsupportedAPIVersion(let v): "/dev/kvm speaks API version \(v), expected 12"
        case .outsideGuestMemory(let address, let count):
            "guest range 0x\(String(address, radix: 16)) (+\(count)) is outside guest memory"
        case .invalid(let why): why
        }
    }
}

/// `ioctl(fd, request, argument)` returning the kernel's non-negative answer or throwing.
@inline(__always)
func kvmIoctl(_ fd: FileDescriptor, _ request: UInt, _ name: String, _ argument: UInt = 0) throws -> Int32 {
    let r = ioctlInt(fd.rawValue, request, argument)
    guard r >= 0 else { throw KVMError.system(call: name, errno: .current) }
    return r
}

/// `ioctl(fd, request, pointer)`.
@inline(__always)
func kvmIoctl(_ fd: FileDescriptor, _ request: UInt, _ name: String, _ pointer: UnsafeMutableRawPointer) throws -> Int32 {
    let r = ioctlPointer(fd.rawValue, request, pointer)
    guard r >= 0 else { throw KVMError.system(call: name, errno: .current) }
    return r
}

extension Errno {
    /// The calling thread's errno (swift-system spells it `Errno.current` only on Darwin).
    static var current: Errno { Errno(rawValue: currentErrno()) }
}
