import Glibc
import SystemPackage

/// How a device interrupts the guest: one edge on its line.
public protocol InterruptLine: Sendable {
    func trigger()
}

/// An irqfd (KVM_IRQFD): writing 1 to the eventfd pulses the line it is attached to. A
/// write(2) is all the vCPU thread's filter needs, where KVM_IRQ_LINE would take an ioctl.
public struct IRQEventFD: InterruptLine {
    public let fd: FileDescriptor

    public init(fd: FileDescriptor) { self.fd = fd }

    /// write(fd, &1, 8).
    public func trigger() {
        var one: UInt64 = 1
        while write(fd.rawValue, &one, 8) < 0 && errno == EINTR {}
    }
}
