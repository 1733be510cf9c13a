import CShim
import Devices
import Glibc
import KVM
import SystemPackage

/// `--disk-fd FD[,readonly]`: a disk the block helper opened (or the parent passed).
/// Read-only when asked, and always when the fd itself is O_RDONLY.
struct DiskOption: Equatable {
    let fd: Int32
    let readOnly: Bool

    init(parsing text: String) throws(WorkerError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard let fd = Int32(parts[0]), (0...65535).contains(fd), parts.count <= 2,
            parts.count == 1 || parts[1] == "readonly"
        else { throw .usage("--disk-fd \(text): expected FD or FD,readonly") }
        self.fd = fd
        self.readOnly = parts.count == 2
    }
}

/// The virtio-mmio devices of the VM: disks first, in command-line order, at
/// DeviceWindow.base + 4 KiB · index with IRQ `irqs[index]` (Guest/README.md). Each has an
/// ioeventfd on its QueueNotify register and an irqfd for its interrupt, so the vCPU
/// threads only see register accesses and the io thread does all queue work.
final class VirtioDevices: @unchecked Sendable {
    // Sendable: built before the threads start, then read-only; transports lock themselves.
    let transports: [VirtioMMIO]
    /// One ioeventfd per transport, polled by the io thread.
    private let notifyFDs: [Int32]

    /// IOAPIC lines free on our board: 4 is the UART, 8 the RTC's, 1/12 the i8042's.
    static let irqs: [UInt32] = [5, 6, 7, 9, 10, 11, 14, 15]

    init(vm: VirtualMachine, memory: GuestMemory, disks: [DiskOption]) throws {
        guard disks.count <= Self.irqs.count else { throw KVMError.invalid("at most \(Self.irqs.count) virtio devices") }
        var transports: [VirtioMMIO] = []
        var notifyFDs: [Int32] = []
        for (index, disk) in disks.enumerated() {
            let size = lseek(disk.fd, 0, SEEK_END)  // files and block devices alike
            guard size >= 0 else { throw KVMError.system(call: "lseek(disk fd \(disk.fd))", errno: Errno(rawValue: errno)) }
            let flags = fcntl(disk.fd, F_GETFL)
            guard flags >= 0 else { throw KVMError.system(call: "fcntl(disk fd \(disk.fd))", errno: Errno(rawValue: errno)) }
            let device = VirtioBlock(
                fd: disk.fd, byteCount: UInt64(size), readOnly: disk.readOnly || flags & O_ACCMODE == O_RDONLY,
                serial: "bulkhead-disk\(index)")
            let (transport, notify) = try Self.attach(device, index: index, vm: vm, memory: memory)
            transports.append(transport)
            notifyFDs.append(notify)
        }
        self.transports = transports
        self.notifyFDs = notifyFDs
    }

    /// The transport at slot `index`, its irqfd and its QueueNotify ioeventfd.
    private static func attach(_ device: any VirtioDevice, index: Int, vm: VirtualMachine, memory: GuestMemory) throws -> (VirtioMMIO, Int32) {
        let address = DeviceWindow.base + UInt64(index) * VirtioMMIO.size
        let irq = irqs[index]
        let irqfd = bh_eventfd_cloexec(0)
        guard irqfd >= 0 else { throw KVMError.system(call: "eventfd", errno: Errno(rawValue: -irqfd)) }
        try vm.attachIRQFD(FileDescriptor(rawValue: irqfd), gsi: irq)
        let notify = bh_eventfd_cloexec(0)
        guard notify >= 0 else { throw KVMError.system(call: "eventfd", errno: Errno(rawValue: -notify)) }
        try vm.attachMMIOEventFD(FileDescriptor(rawValue: notify), address: address + VirtioMMIO.notifyOffset, length: 4)
        let transport = VirtioMMIO(device: device, address: address, irq: irq, memory: memory, interrupt: IRQEventFD(fd: FileDescriptor(rawValue: irqfd)))
        transport.processesNotifyInline = false  // the ioeventfd takes every QueueNotify write
        return (transport, notify)
    }

    var isEmpty: Bool { transports.isEmpty }

    /// ` virtio_mmio.device=4K@0xADDR:IRQ` for each device, for a Linux command line.
    var linuxCommandLine: String { transports.map { " " + $0.linuxCommandLineDevice }.joined() }

    /// The transport whose 4 KiB holds `address`, and the offset inside it.
    func transport(at address: UInt64) -> (VirtioMMIO, UInt64)? {
        guard address >= DeviceWindow.base else { return nil }
        let index = (address - DeviceWindow.base) / VirtioMMIO.size
        guard index < UInt64(transports.count) else { return nil }
        return (transports[Int(index)], (address - DeviceWindow.base) % VirtioMMIO.size)
    }

    /// The io thread's loop: sleep in ppoll on the ioeventfds, drain the one that fired,
    /// process that device's queues. Only ppoll, read, preadv/pwritev, fdatasync, write.
    func serve(onError: (String) -> Void) -> Never {
        var fds = notifyFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while true {
            let n = bh_ppoll_forever(&fds, UInt(fds.count))
            if n < 0 {
                if n != -EINTR { onError("io: ppoll: \(String(cString: strerror(-n)))") }
                continue
            }
            for i in fds.indices where fds[i].revents & Int16(POLLIN) != 0 {
                var count: UInt64 = 0
                _ = read(fds[i].fd, &count, 8)
                transports[i].processQueues()
            }
        }
    }
}
