import Synchronization
import Glibc
import KVM
import SystemPackage

/// A 16550A-compatible UART (COM1: ports 0x3F8–0x3FF, IRQ 4). Output goes straight to the
/// console fd (and to the tee for `bulkhead console`), so the transmitter is always empty.
/// Input arrives through `receive` (the io thread reads the console input fd) into the
/// receiver: RBR, LSR data-ready and overrun, a 16-byte FIFO when FCR enables it (one holding
/// byte otherwise), the receive-data-available and line-status interrupts. Enough for a polling driver (the test guest, Linux's
/// earlyprintk) and for Linux's interrupt-driven 8250 driver: the THR-empty interrupt, FIFO
/// identification, scratch and loopback of the modem lines.
public final class SerialPort: @unchecked Sendable {
    // Sendable: register state is only touched under `lock` (vCPU threads and the io thread share the port).
    public static let base: UInt16 = 0x3F8
    public static let ports: ClosedRange<UInt16> = base...(base + 7)
    public static let irq: UInt32 = 4
    public static let fifoDepth = 16

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let consoleFD: FileDescriptor?
    /// The copy for an attached `bulkhead console` (a non-blocking pipe to the parent): a
    /// byte the pipe has no room for is dropped, so nobody reading never holds up a vCPU.
    private let teeFD: FileDescriptor?
    private let interrupt: (any InterruptLine)?
    /// Written once when the guest has read half of a receiver the io thread found full
    /// (`roomOrWait`), so the io thread sleeps instead of polling for room, and refills while
    /// the guest still reads the other half. An eventfd: IRQEventFD writes 1.
    private let drained: (any InterruptLine)?
    /// The registers the guest sets, with the values they have at start and after `reset`.
    private struct Registers {
        var ier: UInt8 = 0, lcr: UInt8 = 0x03, mcr: UInt8 = 0x08, scr: UInt8 = 0
        var fcr: UInt8 = 0, dll: UInt8 = 0x0C, dlm: UInt8 = 0
    }
    private var registers = Registers()
    /// The THR-empty interrupt is pending (cleared by reading IIR or writing THR).
    private var thrEmptyPending = false
    private var lineHigh = false
    /// Bytes the guest wrote to the console (`metrics`; relaxed atomic, no syscall).
    public let consoleBytes = Atomic<UInt64>(0)
    /// The receive FIFO as a ring: `received` bytes from `receiveHead`.
    private var fifo: (UInt64, UInt64) = (0, 0)
    private var receiveHead = 0, received = 0
    /// A byte arrived with the receiver full and was lost (LSR.OE, cleared by reading LSR).
    private var overrun = false
    private var drainWanted = false

    static let ierReceiveData: UInt8 = 0x01
    static let ierTHREmpty: UInt8 = 0x02
    static let ierLineStatus: UInt8 = 0x04
    static let mcrLoopback: UInt8 = 0x10
    static let lsrDataReady: UInt8 = 0x01
    static let lsrOverrun: UInt8 = 0x02

    public init(
        consoleFD: FileDescriptor?, teeFD: FileDescriptor? = nil, interrupt: (any InterruptLine)? = nil,
        drained: (any InterruptLine)? = nil
    ) {
        self.consoleFD = consoleFD
        self.teeFD = teeFD
        self.interrupt = interrupt
        self.drained = drained
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    private var dlab: Bool { registers.lcr & 0x80 != 0 }
    /// 16 with FCR's FIFO enable, else the one receiver buffer register of a 16450.
    private var capacity: Int { registers.fcr & 0x01 != 0 ? Self.fifoDepth : 1 }

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

    /// Bytes from the console input into the receiver; what does not fit is lost and sets
    /// LSR.OE, as on the wire. The io thread asks `roomOrWait` first and never loses any.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        for byte in bytes {
            guard received < capacity else {
                overrun = true
                continue
            }
            withUnsafeMutableBytes(of: &fifo) { $0[(receiveHead + received) % Self.fifoDepth] = byte }
            received += 1
        }
        updateInterrupt()
    }

    /// Back to the state at start, as a machine reset leaves the UART (`ctl reset`): the
    /// registers, an empty receiver (bytes typed before the reset are not read after it), no
    /// pending interrupt.
    public func reset() {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        registers = Registers()
        thrEmptyPending = false
        overrun = false
        clearReceiver()
        updateInterrupt()
    }

    /// How many bytes the receiver takes now. When none, `drained` is signalled once the guest
    /// has read it down to half (to empty, without the FIFO).
    public func roomOrWait() -> Int {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let room = capacity - received
        drainWanted = room == 0
        return room
    }

    private func write(_ offset: UInt16, _ value: UInt8) {
        switch offset {
        case 0 where dlab: registers.dll = value
        case 0:
            transmit(value)
            thrEmptyPending = true  // sent at once: the holding register is empty again
        case 1 where dlab: registers.dlm = value
        case 1:
            if value & Self.ierTHREmpty != 0 && registers.ier & Self.ierTHREmpty == 0 { thrEmptyPending = true }
            registers.ier = value & 0x0F
        case 2:
            // Turning the FIFO on or off empties it, as does the receiver-reset bit (1).
            if value & 0x02 != 0 || (value ^ registers.fcr) & 0x01 != 0 { clearReceiver() }
            registers.fcr = value & 0xC1  // FIFO enable and trigger level; reset bits self-clear
        case 3: registers.lcr = value
        case 4: registers.mcr = value & 0x1F
        case 7: registers.scr = value
        default: break  // LSR, MSR: read-only
        }
    }

    private func read(_ offset: UInt16) -> UInt8 {
        switch offset {
        case 0 where dlab: return registers.dll
        case 0: return takeReceived()
        case 1 where dlab: return registers.dlm
        case 1: return registers.ier
        case 2:
            let iir = interruptIdentification
            if iir & 0x0F == 0x02 { thrEmptyPending = false }  // reading IIR acknowledges THRE
            return iir
        case 3: return registers.lcr
        case 4: return registers.mcr
        case 5:
            // THR empty, transmitter empty; data ready; overrun, which reading LSR clears.
            let lsr = 0x60 | (received > 0 ? Self.lsrDataReady : 0) | (overrun ? Self.lsrOverrun : 0)
            overrun = false
            return lsr
        case 6:
            let mcr = registers.mcr
            guard mcr & Self.mcrLoopback != 0 else { return 0xB0 }  // DCD, DSR, CTS
            // Loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD (drivers probe with this).
            return (mcr & 0x01) << 5 | (mcr & 0x02) << 3 | (mcr & 0x04) << 4 | (mcr & 0x08) << 4
        default: return registers.scr
        }
    }

    /// RBR: the oldest received byte, or 0 when there is none.
    private func takeReceived() -> UInt8 {
        guard received > 0 else { return 0 }
        let byte = withUnsafeBytes(of: &fifo) { $0[receiveHead] }
        receiveHead = (receiveHead + 1) % Self.fifoDepth
        received -= 1
        if received <= capacity / 2 { signalDrained() }
        return byte
    }

    private func clearReceiver() {
        receiveHead = 0
        received = 0
        signalDrained()
    }

    private func signalDrained() {
        guard drainWanted else { return }
        drainWanted = false
        drained?.trigger()
    }

    /// IIR, by the 16550's priority: 0x06 line status (overrun), 0x04 received data (at any
    /// fill level: there is no trigger level or character timeout, so no 0x0C), 0x02 THR
    /// empty, else 0x01 (none); 0xC0 with FIFOs on.
    private var interruptIdentification: UInt8 {
        let fifo: UInt8 = registers.fcr & 0x01 != 0 ? 0xC0 : 0
        if overrun && registers.ier & Self.ierLineStatus != 0 { return fifo | 0x06 }
        if received > 0 && registers.ier & Self.ierReceiveData != 0 { return fifo | 0x04 }
        return fifo | (thrEmptyPending && registers.ier & Self.ierTHREmpty != 0 ? 0x02 : 0x01)
    }

    /// Pulses IRQ 4 when an interrupt becomes pending (the line is edge-triggered).
    private func updateInterrupt() {
        let high = interruptIdentification & 0x01 == 0
        if high && !lineHigh { interrupt?.trigger() }
        lineHigh = high
    }

    private func transmit(_ byte: UInt8) {
        consoleBytes.wrappingAdd(1, ordering: .relaxed)
        var b = byte
        if let fd = consoleFD {
            while Glibc.write(fd.rawValue, &b, 1) < 0 && errno == EINTR {}
        }
        if let fd = teeFD {
            while Glibc.write(fd.rawValue, &b, 1) < 0 && errno == EINTR {}  // EAGAIN: full, dropped
        }
    }
}
