import CWorker
import Glibc
import SystemPackage

/// The /dev/kvm system fd. The library never opens a path: the parent opens /dev/kvm before
/// it seals and hands the fd over.
public struct KVMSystem: Sendable {
    public let fd: FileDescriptor

    /// Wraps an open /dev/kvm fd and checks KVM_GET_API_VERSION is 12.
    public init(fd: FileDescriptor) throws {
        self.fd = fd
        let version = try kvmIoctl(fd, bh_kvm_get_api_version, "KVM_GET_API_VERSION")
        guard version == 12 else { throw KVMError.unsupportedAPIVersion(version) }
    }

    /// KVM_CHECK_EXTENSION: 0 when unsupported, otherwise an extension-specific value.
    public func checkExtension(_ capability: Int32) throws -> Int32 {
        try kvmIoctl(fd, bh_kvm_check_extension, "KVM_CHECK_EXTENSION", UInt(capability))
    }

    /// KVM_GET_VCPU_MMAP_SIZE: the size of each vCPU's kvm_run mapping.
    public func vcpuMmapSize() throws -> Int {
        Int(try kvmIoctl(fd, bh_kvm_get_vcpu_mmap_size, "KVM_GET_VCPU_MMAP_SIZE"))
    }

    /// KVM_GET_SUPPORTED_CPUID: every leaf this host's KVM can offer a guest.
    public func supportedCPUID() throws -> CPUID {
        var capacity = 256  // 75 leaves on this host; doubled on E2BIG
        while true {
            let buffer = CPUIDBuffer(capacity: capacity)
            do {
                _ = try kvmIoctl(fd, bh_kvm_get_supported_cpuid, "KVM_GET_SUPPORTED_CPUID", buffer.raw)
                return CPUID(entries: buffer.entries)
            } catch KVMError.system(_, .argListTooLong) where capacity < 4096 {
                capacity *= 2  // E2BIG: the table has more leaves than we made room for
            }
        }
    }

    /// KVM_CREATE_VM (machine type 0).
    public func createVM() throws -> VirtualMachine {
        let vmFD = try kvmIoctl(fd, bh_kvm_create_vm, "KVM_CREATE_VM", 0)
        return VirtualMachine(fd: FileDescriptor(rawValue: vmFD), system: self)
    }
}
