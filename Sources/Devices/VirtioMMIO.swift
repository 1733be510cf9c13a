import Synchronization
import Glibc
import KVM

/// What a virtio device model supplies to the MMIO transport: its identity, features,
/// configuration space, and the work it does on its queues.
public protocol VirtioDevice: AnyObject, Sendable {
    /// Device ID (§5): 1 network, 2 block.
    var deviceID: UInt32 { get }
    /// Device-specific feature bits; the transport adds VERSION_1 and INDIRECT_DESC.
    var deviceFeatures: UInt64 { get }
    /// Maximum size of each queue; the count is the number of queues.
    var queueSizes: [UInt16] { get }
    /// The configuration space (§4.2.2, from offset 0x100), little-endian.
    var configuration: [UInt8] { get }
    /// Consumes what the driver made available on queue `index`. Returns true when it
    /// put something in the used ring. Throws when the driver broke the protocol.
    func process(queue index: Int, _ queue: inout Virtqueue, memory: GuestMemory, features: UInt64) throws(VirtioError) -> Bool
    /// The device's own state back to power-on (the transport resets the queues).
    func reset()
}

/// The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2, modern devices only): the
/// register file the guest sees in 4 KiB at `address`, the queues, feature negotiation and
/// the interrupt status. Register accesses come from vCPU threads, queue work from the io
/// thread (ioeventfd on QueueNotify); one lock serialises them.
public final class VirtioMMIO: @unchecked Sendable {
    // Sendable: all mutable state is touched only under `lock`.
    public static let size: UInt64 = 0x1000
    public static let magic: UInt32 = 0x7472_6976  // "virt"
    public static let notifyOffset = Register.queueNotify.rawValue

    /// The register file by offset, named as virtio 1.2 §4.2.2 (table "MMIO Device Register
    /// Layout") spells them. The device-specific configuration space starts at `config`.
    public enum Register: UInt64 {
        case magicValue = 0x000, version = 0x004, deviceID = 0x008, vendorID = 0x00C
        case deviceFeatures = 0x010, deviceFeaturesSel = 0x014
        case driverFeatures = 0x020, driverFeaturesSel = 0x024
        case queueSel = 0x030, queueNumMax = 0x034, queueNum = 0x038, queueReady = 0x044
        case queueNotify = 0x050
        case interruptStatus = 0x060, interruptACK = 0x064
        case status = 0x070
        case queueDescLow = 0x080, queueDescHigh = 0x084
        case queueDriverLow = 0x090, queueDriverHigh = 0x094
        case queueDeviceLow = 0x0A0, queueDeviceHigh = 0x0A4
        case configGeneration = 0x0FC

        public static let config: UInt64 = 0x100
    }

    public static let featureVersion1: UInt64 = 1 << 32
    public static let featureIndirect: UInt64 = 1 << 28

    public enum Status {
        public static let acknowledge: UInt32 = 1, driver: UInt32 = 2, driverOK: UInt32 = 4
        public static let featuresOK: UInt32 = 8, needsReset: UInt32 = 0x40, failed: UInt32 = 0x80
    }

    public let address: UInt64
    public let irq: UInt32
    public let device: any VirtioDevice
    private let memory: GuestMemory
    private let interrupt: (any InterruptLine)?
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public private(set) var queues: [Virtqueue]
    private var status: UInt32 = 0
    private var driverFeatures: UInt64 = 0
    private var deviceFeaturesSelect: UInt32 = 0, driverFeaturesSelect: UInt32 = 0
    private var queueSelect: UInt32 = 0
    private var interruptStatus: UInt32 = 0
    /// Why the device last asked for a reset (for the worker's report and the tests).
    public private(set) var lastError: VirtioError?
    /// True when QueueNotify writes reach `handle` (no ioeventfd registered): then the
    /// vCPU thread does the queue work itself.
    public var processesNotifyInline = true

    public init(device: any VirtioDevice, address: UInt64, irq: UInt32, memory: GuestMemory, interrupt: (any InterruptLine)?) {
        self.device = device
        self.address = address
        self.irq = irq
        self.memory = memory
        self.interrupt = interrupt
        queues = device.queueSizes.map { Virtqueue(maxSize: $0) }
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    /// Every feature the device offers: its own plus the transport's.
    public var offeredFeatures: UInt64 { device.deviceFeatures | Self.featureVersion1 | Self.featureIndirect }

    /// The status register as the driver would read it.
    public var deviceStatus: UInt32 { locked { status } }

    /// `virtio_mmio.device=4K@0xADDR:IRQ`, what a Linux command line needs to find us.
    public var linuxCommandLineDevice: String { "virtio_mmio.device=4K@0x\(String(address, radix: 16)):\(irq)" }

    /// One MMIO exit at `offset` inside the device's 4 KiB. Registers are 32-bit and
    /// aligned (§4.2.2.2); other accesses read 0 and are ignored, except config space.
    public func handle(offset: UInt64, isWrite: Bool, data: UnsafeMutablePointer<UInt8>, length: Int) {
        var processNow = false
        locked {
            if offset >= Register.config {
                if !isWrite { readConfiguration(offset: Int(offset - Register.config), data: data, length: length) }
                return  // the configuration space is read-only for both devices
            }
            guard length == 4, offset % 4 == 0 else {
                if !isWrite { for i in 0..<min(length, 8) { data[i] = 0 } }
                return
            }
            if isWrite {
                let value = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
                processNow = write(offset: offset, value: value)
            } else {
                let value = read(offset: offset)
                for i in 0..<4 { data[i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
            }
        }
        if processNow { processQueues() }
    }

    private var selectedQueue: Int? { queueSelect < queues.count ? Int(queueSelect) : nil }

    /// Write-only registers and offsets that name no register read 0.
    private func read(offset: UInt64) -> UInt32 {
        guard let register = Register(rawValue: offset) else { return 0 }
        switch register {
        case .magicValue: return Self.magic
        case .version: return 2
        case .deviceID: return device.deviceID
        case .vendorID: return 0x4248_564D  // "MVHB"
        case .deviceFeatures:
            return deviceFeaturesSelect < 2 ? UInt32(truncatingIfNeeded: offeredFeatures >> (32 * UInt64(deviceFeaturesSelect))) : 0
        case .queueNumMax: return selectedQueue.map { UInt32(queues[$0].maxSize) } ?? 0
        case .queueReady: return selectedQueue.map { queues[$0].ready ? 1 : 0 } ?? 0
        case .interruptStatus: return interruptStatus
        case .status: return status
        case .configGeneration: return 0  // the configuration never changes
        default: return 0
        }
    }

    /// Returns true when the write was a queue notification to handle now.
    /// Read-only registers and offsets that name no register ignore writes.
    private func write(offset: UInt64, value: UInt32) -> Bool {
        guard let register = Register(rawValue: offset) else { return false }
        switch register {
        case .deviceFeaturesSel: deviceFeaturesSelect = value
        case .driverFeatures:
            // Features are fixed once FEATURES_OK is set (§3.1.1).
            guard status & Status.featuresOK == 0, driverFeaturesSelect < 2 else { break }
            let shift = 32 * UInt64(driverFeaturesSelect)
            driverFeatures = driverFeatures & ~(0xFFFF_FFFF << shift) | UInt64(value) << shift
        case .driverFeaturesSel: driverFeaturesSelect = value
        case .queueSel: queueSelect = value
        case .queueNum: withSelectedIdleQueue { $0.size = value <= 0xFFFF ? UInt16(value) : 0 }
        case .queueReady:
            guard let q = selectedQueue else { break }
            if value == 1 && !queues[q].ready {
                guard status & Status.featuresOK != 0 else { needsReset(.queueReadyBeforeFeaturesOK); break }
                do { try queues[q].makeReady(memory: memory) } catch { needsReset(error) }
            } else if value == 0 {
                queues[q].reset()
            }
        case .queueNotify: return processesNotifyInline
        case .interruptACK: interruptStatus &= ~value
        case .status: writeStatus(value)
        case .queueDescLow: withSelectedIdleQueue { $0.descriptorTable = $0.descriptorTable & ~0xFFFF_FFFF | UInt64(value) }
        case .queueDescHigh: withSelectedIdleQueue { $0.descriptorTable = $0.descriptorTable & 0xFFFF_FFFF | UInt64(value) << 32 }
        case .queueDriverLow: withSelectedIdleQueue { $0.availableRing = $0.availableRing & ~0xFFFF_FFFF | UInt64(value) }
        case .queueDriverHigh: withSelectedIdleQueue { $0.availableRing = $0.availableRing & 0xFFFF_FFFF | UInt64(value) << 32 }
        case .queueDeviceLow: withSelectedIdleQueue { $0.usedRing = $0.usedRing & ~0xFFFF_FFFF | UInt64(value) }
        case .queueDeviceHigh: withSelectedIdleQueue { $0.usedRing = $0.usedRing & 0xFFFF_FFFF | UInt64(value) << 32 }
        default: break
        }
        return false
    }

    /// Queue registers change only while the queue is not ready (§4.2.2.3).
    private func withSelectedIdleQueue(_ body: (inout Virtqueue) -> Void) {
        guard let q = selectedQueue, !queues[q].ready else { return }
        body(&queues[q])
    }

    private func writeStatus(_ value: UInt32) {
        if value == 0 { return resetDevice() }
        var value = value | (status & Status.needsReset)
        if value & Status.featuresOK != 0 && status & Status.featuresOK == 0 {
            // §2.2.2: refuse features we did not offer; modern only, so VERSION_1 is required.
            let accepted = driverFeatures & ~offeredFeatures == 0 && driverFeatures & Self.featureVersion1 != 0
            if !accepted { value &= ~Status.featuresOK }
        }
        status = value
    }

    /// Ring resets: the driver reset the device (status 0), or the device set
    /// DEVICE_NEEDS_RESET after a protocol error (`metrics`; relaxed atomic, no syscall).
    public let ringResets = Atomic<UInt64>(0)

    /// The device back to power-on, as a driver writing status 0 would (`ctl reset`).
    public func reset() { locked { resetDevice() } }

    private func resetDevice() {
        ringResets.wrappingAdd(1, ordering: .relaxed)
        status = 0
        driverFeatures = 0
        interruptStatus = 0
        (deviceFeaturesSelect, driverFeaturesSelect, queueSelect) = (0, 0, 0)
        for i in queues.indices { queues[i].reset() }
        lastError = nil
        device.reset()
    }

    /// §2.1.2: set DEVICE_NEEDS_RESET and send a configuration-change interrupt. Nothing
    /// more is processed until the driver resets the device.
    private func needsReset(_ error: VirtioError) {
        lastError = error
        guard status & Status.needsReset == 0 else { return }
        ringResets.wrappingAdd(1, ordering: .relaxed)
        status |= Status.needsReset
        if status & Status.driverOK != 0 {
            interruptStatus |= 2
            interrupt?.trigger()
        }
    }

    private var running: Bool {
        status & (Status.driverOK | Status.featuresOK) == Status.driverOK | Status.featuresOK
            && status & (Status.needsReset | Status.failed) == 0
    }

    /// The io thread's work after a notification: every ready queue, then one interrupt
    /// unless the driver suppressed it (§2.7.7).
    public func processQueues() {
        var signal = false
        locked {
            guard running else { return }
            for i in queues.indices where queues[i].ready {
                do throws(VirtioError) {
                    if try device.process(queue: i, &queues[i], memory: memory, features: driverFeatures) {
                        if !queues[i].interruptSuppressed { signal = true }
                    }
                } catch {
                    needsReset(error)
                    return
                }
            }
            if signal { interruptStatus |= 1 }
        }
        if signal { interrupt?.trigger() }
    }

    private func readConfiguration(offset: Int, data: UnsafeMutablePointer<UInt8>, length: Int) {
        let config = device.configuration
        for i in 0..<min(length, 8) {
            data[i] = offset + i < config.count ? config[offset + i] : 0
        }
    }
}
