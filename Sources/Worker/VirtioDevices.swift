import CWorker
import Devices
import Glibc
import KVM
import SystemPackage

/// `--disk-fd FD[,readonly]`: a disk the block helper opened (or the parent passed).
/// Read-only when asked, and always when the fd itself is O_RDONLY.
struct DiskOption: Equatable {
    let fd: FileDescriptor
    let readOnly: Bool

    /// A disk fd in hand (FileRequests: as the block helper handed it over).
    init(fd: FileDescriptor, readOnly: Bool) {
        self.fd = fd
        self.readOnly = readOnly
    }

    init(parsing text: String) throws(WorkerError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard let fd = Int32(parts[0]), (0...65535).contains(fd), parts.count <= 2,
            parts.count == 1 || parts[1] == "readonly"
        else { throw .usage("--disk-fd \(text): expected FD or FD,readonly") }
        self.init(fd: FileDescriptor(rawValue: fd), readOnly: parts.count == 2)
    }
}

/// `--tap-fd FD[,mac=MAC]`: a tap the net helper opened (IFF_TAP|IFF_NO_PI, no
/// IFF_VNET_HDR). The default MAC is 52:54:00:12:34:(56 + index).
struct TapOption: Equatable {
    let fd: FileDescriptor
    let mac: [UInt8]?

    /// A tap fd in hand (FileRequests: as the net helper handed it over) and its `mac=MAC`
    /// field, if any. `text` is the option as written, for the message.
    init(fd: FileDescriptor, macField: Substring?, text: @autoclosure () -> String) throws(WorkerError) {
        self.fd = fd
        guard let macField else { mac = nil; return }
        let octets = macField.hasPrefix("mac=") ? macField.dropFirst(4).split(separator: ":", omittingEmptySubsequences: false) : []
        let bytes = octets.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        guard bytes.count == 6, octets.count == 6, bytes[0] & 1 == 0 else {
            throw .usage("--tap-fd \(text()): expected mac=xx:xx:xx:xx:xx:xx (unicast)")
        }
        mac = bytes
    }

    init(parsing text: String) throws(WorkerError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard let fd = Int32(parts[0]), (0...65535).contains(fd), parts.count <= 2 else {
            throw .usage("--tap-fd \(text): expected FD or FD,mac=MAC")
        }
        try self.init(fd: FileDescriptor(rawValue: fd), macField: parts.count == 2 ? parts[1] : nil, text: text)
    }
}

/// The virtio-mmio devices of the VM: disks first, then taps, in command-line order, at
/// DeviceWindow.base + 4 KiB · index with IRQ `irqs[index]` (Guest/README.md). Each has an
/// ioeventfd on its QueueNotify register and an irqfd for its interrupt, so the vCPU
/// threads only see register accesses and the io thread does all queue work.
final class VirtioDevices: @unchecked Sendable {
    // Sendable: built before the threads start, then read-only; transports lock themselves.
    let transports: [VirtioMMIO]
    /// One ioeventfd per transport, polled by the io thread.
    private let notifyFDs: [FileDescriptor]
    /// For each transport that is a virtio-net device: it and its tap fd.
    private let nets: [(device: VirtioNet, tap: FileDescriptor)?]

    /// IOAPIC lines free on our board: 4 is the UART, 8 the RTC's, 1/12 the i8042's.
    static let irqs: [UInt32] = [5, 6, 7, 9, 10, 11, 14, 15]

    init(vm: VirtualMachine, memory: GuestMemory, disks: [DiskOption], taps: [TapOption] = []) throws {
        guard disks.count + taps.count <= Self.irqs.count else { throw KVMError.invalid("at most \(Self.irqs.count) virtio devices") }
        var transports: [VirtioMMIO] = []
        var notifyFDs: [FileDescriptor] = []
        for (index, disk) in disks.enumerated() {
            let size = lseek(disk.fd.rawValue, 0, SEEK_END)  // files and block devices alike
            guard size >= 0 else { throw KVMError.system(call: "lseek(disk fd \(disk.fd.rawValue))", errno: Errno(rawValue: errno)) }
            let flags = fcntl(disk.fd.rawValue, F_GETFL)
            guard flags >= 0 else { throw KVMError.system(call: "fcntl(disk fd \(disk.fd.rawValue))", errno: Errno(rawValue: errno)) }
            let device = VirtioBlock(
                fd: disk.fd, byteCount: UInt64(size), readOnly: disk.readOnly || flags & O_ACCMODE == O_RDONLY,
                serial: "bulkhead-disk\(index)")
            let (transport, notify) = try Self.attach(device, index: index, vm: vm, memory: memory)
            transports.append(transport)
            notifyFDs.append(notify)
        }
        var nets: [(device: VirtioNet, tap: FileDescriptor)?] = Array(repeating: nil, count: transports.count)
        for (n, tap) in taps.enumerated() {
            // The io thread must never block on the tap: receive stops at EAGAIN.
            let flags = fcntl(tap.fd.rawValue, F_GETFL)
            guard flags >= 0, fcntl(tap.fd.rawValue, F_SETFL, flags | O_NONBLOCK) == 0 else {
                throw KVMError.system(call: "fcntl(tap fd \(tap.fd.rawValue))", errno: Errno(rawValue: errno))
            }
            let device = VirtioNet(fd: tap.fd, mac: tap.mac ?? [0x52, 0x54, 0x00, 0x12, 0x34, UInt8(0x56 + n)])
            let (transport, notify) = try Self.attach(device, index: transports.count, vm: vm, memory: memory)
            transports.append(transport)
            notifyFDs.append(notify)
            nets.append((device, tap.fd))
        }
        self.transports = transports
        self.notifyFDs = notifyFDs
        self.nets = nets
    }

    /// The transport at slot `index`, its irqfd and its QueueNotify ioeventfd.
    private static func attach(_ device: any VirtioDevice, index: Int, vm: VirtualMachine, memory: GuestMemory) throws -> (VirtioMMIO, FileDescriptor) {
        let address = DeviceWindow.base + UInt64(index) * VirtioMMIO.size
        let irq = irqs[index]
        let irqfd = try eventFD()
        try vm.attachIRQFD(irqfd, gsi: irq)
        let notify = try eventFD()
        try vm.attachMMIOEventFD(notify, address: address + VirtioMMIO.notifyOffset, length: 4)
        let transport = VirtioMMIO(device: device, address: address, irq: irq, memory: memory, interrupt: IRQEventFD(fd: irqfd))
        transport.processesNotifyInline = false  // the ioeventfd takes every QueueNotify write
        return (transport, notify)
    }

    private static func eventFD() throws -> FileDescriptor {
        let fd = bh_eventfd_cloexec(0)
        guard fd >= 0 else { throw KVMError.system(call: "eventfd", errno: Errno(rawValue: -fd)) }
        return FileDescriptor(rawValue: fd)
    }

    var isEmpty: Bool { transports.isEmpty }

    /// Each device in slot order with its kind and counters (WorkerMetrics).
    var counted: [(kind: String, counters: DeviceCounters, transport: VirtioMMIO)] {
        transports.compactMap { transport in
            if let block = transport.device as? VirtioBlock { return ("blk", block.counters, transport) }
            if let net = transport.device as? VirtioNet { return ("net", net.counters, transport) }
            return nil
        }
    }

    /// ` virtio_mmio.device=4K@0xADDR:IRQ` for each device, for a Linux command line.
    var linuxCommandLine: String { transports.map { " " + $0.linuxCommandLineDevice }.joined() }

    /// The transport whose 4 KiB holds `address`, and the offset inside it.
    func transport(at address: UInt64) -> (VirtioMMIO, UInt64)? {
        guard address >= DeviceWindow.base else { return nil }
        let index = (address - DeviceWindow.base) / VirtioMMIO.size
        guard index < UInt64(transports.count) else { return nil }
        return (transports[Int(index)], (address - DeviceWindow.base) % VirtioMMIO.size)
    }

    /// What the io thread polls for these devices: each ioeventfd, then each transport's tap
    /// (fd -1, ignored, for a disk; events 0 until the guest has receive buffers).
    func pollEntries() -> [pollfd] {
        notifyFDs.map { pollfd(fd: $0.rawValue, events: Int16(POLLIN), revents: 0) }
            + nets.map { pollfd(fd: $0?.tap.rawValue ?? -1, events: 0, revents: 0) }
    }

    /// After ppoll (IOThreadLoop), with `pollEntries()` at the start of `fds`: drain what
    /// fired, process that device's queues. Only read, write, readv/writev, preadv/pwritev
    /// and fdatasync. `onWarning` only reports.
    func service(_ fds: inout [pollfd], onWarning: (String) -> Void) {
        let count = notifyFDs.count
        for i in 0..<count {
            if fds[count + i].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                // The tap went away (deleted on the host): stop polling it, or ppoll
                // would return at once forever. The guest's frames are dropped from now.
                onWarning("bulkhead-worker: io: tap fd \(fds[count + i].fd) failed; virtio-net slot \(i) no longer receives")
                fds[count + i].fd = -1
            }
            let notified = fds[i].revents & Int16(POLLIN) != 0
            let frames = fds[count + i].revents & Int16(POLLIN) != 0
            guard notified || frames else { continue }
            if notified {
                var value: UInt64 = 0
                _ = read(fds[i].fd, &value, 8)
            }
            transports[i].processQueues()
            // Poll the tap only while the guest has buffers for what arrives there.
            if let net = nets[i] { fds[count + i].events = net.device.wantsFrames ? Int16(POLLIN) : 0 }
        }
    }
}
