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
        let drained = CountingLine()
        let console: [Int32]

        init() {
            var fds: [Int32] = [0, 0]
            _ = pipe(&fds)
            console = fds
            port = SerialPort(consoleFD: FileDescriptor(rawValue: fds[1]), interrupt: line, drained: drained)
        }

        func receive(_ text: String) { Array(text.utf8).withUnsafeBytes { port.receive($0) } }

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

    @Test func receivedByteSetsDataReadyAndRBRTakesIt() {
        let uart = UART()
        #expect(uart.inb(5) & 0x01 == 0)
        #expect(uart.port.roomOrWait() == 1)  // FIFO off: one holding register
        uart.receive("h")
        #expect(uart.inb(5) == 0x61)  // DR, THRE, TEMT
        #expect(uart.inb(0) == 0x68)
        #expect(uart.inb(5) == 0x60)
        #expect(uart.inb(0) == 0)  // nothing left: RBR reads 0
        #expect(uart.line.count == 0)  // no interrupt unless IER asks
    }

    @Test func withoutFIFOASecondByteOverrunsAndLSRReadClearsOE() {
        let uart = UART()
        uart.receive("ab")
        #expect(uart.inb(5) == 0x63)  // DR and OE
        #expect(uart.inb(5) == 0x61)  // OE cleared by the read, DR stays
        #expect(uart.inb(0) == UInt8(ascii: "a"))  // the first byte is kept, the second lost
        #expect(uart.inb(5) & 0x01 == 0)
    }

    @Test func fifoHoldsSixteenBytesInOrderThenOverruns() {
        let uart = UART()
        uart.out(2, 0x07)  // enable and reset FIFOs
        #expect(uart.port.roomOrWait() == 16)
        uart.receive("0123456789abcdef")
        #expect(uart.port.roomOrWait() == 0)
        #expect(uart.inb(5) & 0x02 == 0)  // full, not yet overrun
        uart.receive("X")
        #expect(uart.inb(5) == 0x63)
        var text = ""
        while uart.inb(5) & 0x01 != 0 { text.append(Character(Unicode.Scalar(uart.inb(0)))) }
        #expect(text == "0123456789abcdef")  // X was lost
        #expect(uart.port.roomOrWait() == 16)
    }

    @Test func receiverResetAndFIFOToggleEmptyTheReceiver() {
        let uart = UART()
        uart.out(2, 0x01)
        uart.receive("abc")
        uart.out(2, 0x03)  // FIFO stays on, receiver reset
        #expect(uart.inb(5) & 0x01 == 0)
        uart.receive("abc")
        uart.out(2, 0x00)  // FIFO off: emptied, one byte of room
        #expect(uart.inb(5) & 0x01 == 0)
        #expect(uart.port.roomOrWait() == 1)
    }

    @Test func receiveDataInterruptHasPriorityOverTHREmptyUntilDrained() {
        let uart = UART()
        uart.out(2, 0x01)
        uart.out(1, 0x03)  // ERBFI and ETBEI
        #expect(uart.line.count == 1)  // THR empty
        #expect(uart.inb(2) == 0xC2)  // acknowledged: line low again
        uart.receive("hi")
        #expect(uart.line.count == 2)  // data arrived: a new edge on IRQ 4
        #expect(uart.inb(2) == 0xC4)
        #expect(uart.inb(2) == 0xC4)  // reading IIR does not acknowledge received data
        uart.receive("!")
        #expect(uart.line.count == 2)  // still pending: no second edge
        _ = uart.inb(0)
        _ = uart.inb(0)
        _ = uart.inb(0)
        #expect(uart.inb(2) == 0xC1)  // drained, nothing else pending
        uart.receive("x")
        #expect(uart.line.count == 3)
    }

    @Test func overrunRaisesLineStatusInterruptFirstWhenEnabled() {
        let uart = UART()
        uart.out(1, 0x05)  // ERBFI and ELSI, FIFO off
        uart.receive("ab")
        #expect(uart.inb(2) == 0x06)
        #expect(uart.inb(5) == 0x63)  // reading LSR clears it
        #expect(uart.inb(2) == 0x04)
        _ = uart.inb(0)
        #expect(uart.inb(2) == 0x01)
    }

    @Test func drainedIsSignalledOnceWhenAFullReceiverIsHalfRead() {
        let uart = UART()
        uart.out(2, 0x01)
        uart.receive("0123456789abcdef")
        #expect(uart.port.roomOrWait() == 0)  // the io thread will wait
        for _ in 0..<7 { _ = uart.inb(0) }
        #expect(uart.drained.count == 0)
        _ = uart.inb(0)
        #expect(uart.drained.count == 1)  // 8 left: the io thread refills while the guest reads
        for _ in 0..<8 { _ = uart.inb(0) }
        #expect(uart.drained.count == 1)
        #expect(uart.port.roomOrWait() == 16)
        uart.receive("a")
        _ = uart.inb(0)
        #expect(uart.drained.count == 1)  // nobody waited this time
    }

    @Test func withoutFIFODrainedIsSignalledWhenTheHoldingRegisterIsRead() {
        let uart = UART()
        uart.receive("a")
        #expect(uart.port.roomOrWait() == 0)
        _ = uart.inb(0)
        #expect(uart.drained.count == 1)
    }

    @Test func divisorLatchHidesRBR() {
        let uart = UART()
        uart.receive("z")
        uart.out(3, 0x83)
        uart.out(0, 0x01)
        #expect(uart.inb(0) == 0x01)
        uart.out(3, 0x03)
        #expect(uart.inb(0) == UInt8(ascii: "z"))
    }

    @Test func resetEmptiesAFullReceiverWakesTheWaitingIOThreadAndRestoresTheRegisters() {
        let uart = UART()
        uart.out(2, 0x01)  // FIFO on
        uart.out(1, 0x05)  // received-data and line-status interrupts
        uart.out(7, 0x5A)
        uart.receive(String(repeating: "x", count: 17))  // full, and one byte lost
        #expect(uart.port.roomOrWait() == 0)  // the io thread will wait
        uart.port.reset()
        #expect(uart.drained.count == 1, "a waiting io thread is woken: the receiver has room again")
        #expect(uart.inb(5) == 0x60, "no data ready and no overrun")
        #expect(uart.inb(0) == 0, "nothing received before the reset is read after it")
        #expect(uart.inb(1) == 0 && uart.inb(7) == 0 && uart.inb(3) == 0x03, "IER, scratch and LCR as at start")
        #expect(uart.inb(2) == 0x01, "FIFO off, no interrupt pending")
        #expect(uart.port.roomOrWait() == 1)
    }
}
