import CWorker
import Devices
import Glibc
import SystemPackage

/// The console input on the io thread: bytes from `--console-input-fd` (the parent's pipe)
/// into the UART's receiver, never more than it has room for, so nothing is buffered here and
/// nothing is lost. While the receiver is full the input fd is not polled (and the parent's
/// pipe fills up: backpressure); the vCPU thread that reads it down to half writes `drainedFD`
/// (SerialPort's `drained`), which wakes the io thread to read again. At end of input the fd
/// is no longer polled; the guest keeps running.
struct ConsoleReceiver {
    let inputFD: FileDescriptor
    /// eventfd: written once by the vCPU thread when the guest half emptied a receiver found full.
    let drainedFD: FileDescriptor
    let serial: SerialPort
    private var ended = false

    /// The eventfd for SerialPort's `drained`, made before the port and this receiver.
    static func makeDrainedFD() throws(WorkerError) -> FileDescriptor {
        let fd = bh_eventfd_cloexec(0)
        guard fd >= 0 else { throw .system(call: "eventfd", errno: -fd) }
        return FileDescriptor(rawValue: fd)
    }

    /// Before confinement: the input fd becomes non-blocking (fcntl is not in the io profile),
    /// so a wake-up with nothing to read is an EAGAIN, never a blocked io thread.
    init(inputFD: FileDescriptor, drainedFD: FileDescriptor, serial: SerialPort) throws(WorkerError) {
        let flags = fcntl(inputFD.rawValue, F_GETFL)
        guard flags >= 0, fcntl(inputFD.rawValue, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw .usage("--console-input-fd \(inputFD.rawValue): not an open fd (errno \(errno))")
        }
        self.inputFD = inputFD
        self.drainedFD = drainedFD
        self.serial = serial
    }

    /// The two entries the io thread polls: the input (fd -1 while the receiver is full or
    /// after end of input: a hung-up pipe would otherwise wake ppoll at once for ever) and
    /// the drained eventfd.
    func pollEntries() -> [pollfd] {
        [pollfd(fd: ended ? -1 : inputFD.rawValue, events: Int16(POLLIN), revents: 0), pollfd(fd: drainedFD.rawValue, events: Int16(POLLIN), revents: 0)]
    }

    /// After ppoll, with this receiver's two entries at `fds[index]`, `fds[index + 1]`.
    mutating func service(_ fds: inout [pollfd], at index: Int, onWarning: (String) -> Void) {
        if fds[index + 1].revents & Int16(POLLIN) != 0 {
            var value: UInt64 = 0
            _ = read(drainedFD.rawValue, &value, 8)
        }
        let woken = fds[index].revents != 0 || fds[index + 1].revents != 0
        fds[index].revents = 0
        fds[index + 1].revents = 0
        guard woken, !ended else { return }
        var buffer: (UInt64, UInt64) = (0, 0)  // SerialPort.fifoDepth bytes, no allocation
        let room = serial.roomOrWait()
        if room > 0 {
            let n = withUnsafeMutableBytes(of: &buffer) { read(inputFD.rawValue, $0.baseAddress, min(room, $0.count)) }
            if n > 0 {
                withUnsafeBytes(of: &buffer) { serial.receive(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            } else if n == 0 {
                ended = true  // end of input: the guest keeps running, the UART just gets no more
            } else if errno != EAGAIN && errno != EINTR {
                onWarning("bulkhead-worker: io: console input fd \(inputFD.rawValue) failed (errno \(errno)); no more console input")
                ended = true
            }
        }
        // Poll the input only while the receiver has room; else wait for `drained`.
        let waiting = !ended && serial.roomOrWait() == 0
        fds[index].fd = ended || waiting ? -1 : inputFD.rawValue
    }
}
