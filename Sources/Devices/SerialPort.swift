import Synchronization
import Glibc
import KVM
import SystemPackage

/// A 16550A-compatible UART (COM1: ports 0x3F8–0x3FF, IRQ 4). Output goes straight to the
/// console fd, so the transmitter is always empty; no input yet. Enough for a polling
/// driver (the test guest, Linux's earlyprintk) and for Linux's interrupt-driven 8250
/// driver: the THR-empty interrupt, FIFO identification, scratch and loopback.
public final class SerialPort: @unchecked Sendable {
    // Sendable: register state is only touched under `lock` (vCPU threads share the port).
    public static let base: UInt16 = 0x3F8
    public static let ports: ClosedRange<UInt16> = base...(base + 7)
    public static let irq: UInt32 = 4

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let consoleFD: FileDescriptor?
    private let interrupt: (any InterruptLine)?
    private var ier: UInt8 = 0, lcr: UInt8 = 0x03, mcr: UInt8 = 0x08, scr: UInt8 = 0
    private var fcr: UInt8 = 0, dll: UInt8 = 0x0C, dlm: UInt8 = 0
    /// The THR-empty interrupt is pending (cleared by reading IIR or writing THR).
    private var thrEmptyPending = false
    private var lineHigh = false
    /// Bytes the guest wrote to the console (`metrics`; relaxed atomic, no syscall).
    public let consoleBytes = Atomic<UInt64>(0)

    static let ierTHREmpty: UInt8 = 0x02
    static let mcrLoopback: UInt8 = 0x10

    public init(consoleFD: FileDescriptor?, interrupt: (any InterruptLine)? = nil) {
        self.consoleFD = consoleFD
        self.interrupt = interrupt
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    private var dlab: Bool { lcr & 0x80 != 0 }

    /// Emulates one port exit in 0x3F8–0x3FF.
    public func handle(_ io: PortIO) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let offset = io.port &- Self.base
        if io.isWrite {
            for i in 0..<io.count { write(offset, io.data[i * io.size]) }
        } else {
            io.answer(UInt32(read(offset)))
        }
        updateInterrupt()
    }

    private func write(_ offset: UInt16, _ value: UInt8) {
        switch offset {
        case 0 where dlab: dll = value
        case 0:
            transmit(value)
            thrEmptyPending = true  // sent at once: the holding register is empty again
        case 1 where dlab: dlm = value
        case 1:
            if value & Self.ierTHREmpty != 0 && ier & Self.ierTHREmpty == 0 { thrEmptyPending = true }
            ier = value & 0x0F
        case 2: fcr = value & 0xC1  // FIFO enable and trigger level; reset bits self-clear
        case 3: lcr = value
        case 4: mcr = value & 0x1F
        case 7: scr = value
        default: break  // LSR, MSR: read-only
        }
    }

    private func read(_ offset: UInt16) -> UInt8 {
        switch offset {
        case 0 where dlab: return dll
        case 0: return 0  // RBR: no input
        case 1 where dlab: return dlm
        case 1: return ier
        case 2:
            let iir = interruptIdentification
            if iir & 0x0F == 0x02 { thrEmptyPending = false }  // reading IIR acknowledges THRE
            return iir
        case 3: return lcr
        case 4: return mcr
        case 5: return 0x60  // LSR: THR empty, transmitter empty
        case 6:
            guard mcr & Self.mcrLoopback != 0 else { return 0xB0 }  // DCD, DSR, CTS
            // Loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD (drivers probe with this).
            return (mcr & 0x01) << 5 | (mcr & 0x02) << 3 | (mcr & 0x04) << 4 | (mcr & 0x08) << 4
        default: return scr
        }
    }

    /// IIR: 0x02 when the THR-empty interrupt is pending, else 0x01; 0xC0 with FIFOs on.
    private var interruptIdentification: UInt8 {
        let fifo: UInt8 = fcr & 0x01 != 0 ? 0xC0 : 0
        return fifo | (thrEmptyPending && ier & Self.ierTHREmpty != 0 ? 0x02 : 0x01)
    }

    /// Pulses IRQ 4 when an interrupt becomes pending (the line is edge-triggered).
    private func updateInterrupt() {
        let high = interruptIdentification & 0x01 == 0
        if high && !lineHigh { interrupt?.trigger() }
        lineHigh = high
    }

    private func transmit(_ byte: UInt8) {
        consoleBytes.wrappingAdd(1, ordering: .relaxed)
        guard let fd = consoleFD else { return }
        var b = byte
        while Glibc.write(fd.rawValue, &b, 1) < 0 && errno == EINTR {}
    }
}
