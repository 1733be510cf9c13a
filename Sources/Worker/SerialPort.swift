import Glibc
import KVM

/// A 16550-compatible UART at 0x3F8, enough for a polling driver: the transmitter is
/// always empty (THR writes go straight to the console fd), no input yet, no interrupts.
/// Registers a driver writes (IER, LCR, MCR, SCR, divisor latch) read back what it wrote.
final class SerialPort: @unchecked Sendable {
    // Sendable: register state is only touched under `monitor` (vCPU threads share the port).
    static let base: UInt16 = 0x3F8
    static let ports: ClosedRange<UInt16> = base...(base + 7)

    private let monitor = Monitor()
    private let consoleFD: Int32?
    private var ier: UInt8 = 0, lcr: UInt8 = 0x03, mcr: UInt8 = 0x08, scr: UInt8 = 0
    private var dll: UInt8 = 0x0C, dlm: UInt8 = 0

    init(consoleFD: Int32?) { self.consoleFD = consoleFD }

    private var dlab: Bool { lcr & 0x80 != 0 }

    func handle(_ io: PortIO) {
        let offset = io.port - Self.base
        monitor.withLock {
            if io.isWrite {
                for i in 0..<io.count { write(offset, io.data[i * io.size]) }
            } else {
                io.answer(UInt32(read(offset)))
            }
        }
    }

    private func write(_ offset: UInt16, _ value: UInt8) {
        switch offset {
        case 0 where dlab: dll = value
        case 0: transmit(value)
        case 1 where dlab: dlm = value
        case 1: ier = value & 0x0F
        case 3: lcr = value
        case 4: mcr = value & 0x1F
        case 7: scr = value
        default: break  // FCR, LSR, MSR: nothing to keep
        }
    }

    private func read(_ offset: UInt16) -> UInt8 {
        switch offset {
        case 0 where dlab: dll
        case 0: 0  // RBR: no input
        case 1 where dlab: dlm
        case 1: ier
        case 2: 0x01  // IIR: no interrupt pending
        case 3: lcr
        case 4: mcr
        case 5: 0x60  // LSR: THR empty, transmitter empty
        case 6: 0xB0  // MSR: DCD, DSR, CTS
        default: scr
        }
    }

    private func transmit(_ byte: UInt8) {
        guard let fd = consoleFD else { return }
        var b = byte
        while Glibc.write(fd, &b, 1) < 0 && errno == EINTR {}
    }
}
