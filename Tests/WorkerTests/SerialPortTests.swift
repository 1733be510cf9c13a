import Devices
import Glibc
import KVM
import Synchronization
import SystemPackage
import Testing

/// The 16550 as a driver sees it, one port access at a time.
@Suite struct SerialPortTests {
    final class CountingLine: InterruptLine {
        let edges = Atomic<Int>(0)
        func trigger() { edges.add(1, ordering: .relaxed) }
        var count: Int { edges.load(ordering: .relaxed) }
    }

    struct UART {
        let port: SerialPort
        let line = CountingLine()
        let console: [Int32]

        init() {
            var fds: [Int32] = [0, 0]
            _ = pipe(&fds)
            console = fds
            port = SerialPort(consoleFD: FileDescriptor(rawValue: fds[1]), interrupt: line)
        }

        func out(_ offset: UInt16, _ value: UInt8) {
            var byte = value
            port.handle(PortIO(port: SerialPort.base + offset, isWrite: true, size: 1, count: 1, data: &byte))
        }

        func inb(_ offset: UInt16) -> UInt8 {
            var byte: UInt8 = 0
            port.handle(PortIO(port: SerialPort.base + offset, isWrite: false, size: 1, count: 1, data: &byte))
            return byte
        }

        func consoleBytes() -> [UInt8] {
            close(console[1])
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = read(console[0], &buffer, 64)
            close(console[0])
            return Array(buffer.prefix(max(0, n)))
        }
    }

    @Test func transmittedBytesReachTheConsoleAndLSRAlwaysSaysEmpty() {
        let uart = UART()
        #expect(uart.inb(5) == 0x60)
        uart.out(0, 0x68)
        uart.out(0, 0x69)
        #expect(uart.consoleBytes() == [0x68, 0x69])
        #expect(uart.line.count == 0)  // no interrupt unless the driver enables one
    }

    @Test func enablingTHREmptyInterruptRaisesIRQ4UntilIIRIsRead() {
        let uart = UART()
        #expect(uart.inb(2) == 0x01)  // nothing pending
        uart.out(1, 0x02)  // IER.ETBEI
        #expect(uart.line.count == 1)
        #expect(uart.inb(2) == 0x02)  // THR empty; reading acknowledges it
        #expect(uart.inb(2) == 0x01)
        uart.out(0, 0x41)  // the next byte goes out at once: pending again, a new edge
        #expect(uart.line.count == 2)
        #expect(uart.inb(2) == 0x02)
    }

    @Test func divisorLatchHidesTHRAndIER() {
        let uart = UART()
        uart.out(3, 0x83)  // DLAB
        uart.out(0, 0x01)
        uart.out(1, 0x00)
        #expect(uart.inb(0) == 0x01)
        uart.out(3, 0x03)
        #expect(uart.inb(1) == 0)  // IER untouched by the divisor write
        #expect(uart.consoleBytes() == [])
    }

    @Test func fifoScratchAndLoopbackIdentifyA16550A() {
        let uart = UART()
        uart.out(2, 0xC7)  // enable and reset FIFOs, 14-byte trigger
        #expect(uart.inb(2) & 0xC0 == 0xC0)
        uart.out(7, 0x5A)
        #expect(uart.inb(7) == 0x5A)
        uart.out(4, 0x1A)  // loopback with RTS and OUT2
        #expect(uart.inb(6) & 0xF0 == 0x90)  // CTS and DCD
        uart.out(4, 0x0B)
        #expect(uart.inb(6) == 0xB0)
    }
}
