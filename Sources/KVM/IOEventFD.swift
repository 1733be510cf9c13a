import CWorker
import SystemPackage

extension VirtualMachine {
    /// KVM_IOEVENTFD: a guest write of `length` bytes to MMIO `address` (any value) signals
    /// `eventFD` inside the kernel, so the vCPU does not exit to us and the io thread, which
    /// polls the eventfd under its own filter, does the device's work (virtio queue notify).
    public func attachMMIOEventFD(_ eventFD: FileDescriptor, address: UInt64, length: UInt32) throws {
        let r = bh_kvm_mmio_ioeventfd(fd.rawValue, address, length, eventFD.rawValue)
        guard r == 0 else { throw KVMError.system(call: "KVM_IOEVENTFD", errno: Errno(rawValue: -r)) }
    }
}
