import CWorker
import Glibc
import SystemPackage

/// What the worker's threads share while the guest runs: how many have confined
/// themselves, and how the VM ends (the first power-off status wins). The control thread
/// sleeps on `wakeFD` (an eventfd) and ends the process.
final class RunState: @unchecked Sendable {
    // Sendable: mutable fields are only touched under `monitor`.
    let monitor = Monitor()
    /// eventfd the control thread polls; vCPU threads write 1 to it to end the VM.
    let wakeFD: FileDescriptor
    let reportFD: FileDescriptor
    private var confined = 0
    private var status: Int32?
    private var guestRan = false

    init(reportFD: FileDescriptor) throws(WorkerError) {
        self.reportFD = reportFD
        let fd = bh_eventfd_cloexec(0)
        guard fd >= 0 else { throw .system(call: "eventfd", errno: -fd) }
        wakeFD = FileDescriptor(rawValue: fd)
    }

    /// A thread has loaded its role filter.
    func threadConfined() {
        monitor.withLock {
            confined += 1
            monitor.broadcast()
        }
    }

    func waitUntilConfined(threads: Int) {
        monitor.withLock { monitor.wait { confined >= threads } }
    }

    /// Ends the VM with `status` (the guest's power-off byte, or 70 after a VMM error).
    func powerOff(status: Int32) {
        let first = monitor.withLock {
            guard self.status == nil else { return false }
            self.status = status
            return true
        }
        if first {
            var one: UInt64 = 1
            _ = write(wakeFD.rawValue, &one, 8)
        }
    }

    var finalStatus: Int32? { monitor.withLock { status } }

    /// A vCPU's first KVM exit: the guest has run its first instructions. The first call
    /// wakes the control thread, which tells the parent `started` (its `started` hook).
    func guestStarted() {
        let first = monitor.withLock {
            guard !guestRan else { return false }
            guestRan = true
            return true
        }
        if first {
            var one: UInt64 = 1
            _ = write(wakeFD.rawValue, &one, 8)
        }
    }

    var hasGuestStarted: Bool { monitor.withLock { guestRan } }

    /// For a vCPU that has nothing more to run: sleep until the process ends.
    func parkForever() -> Never {
        monitor.withLock { monitor.wait { false } }
        fatalError("unreachable")
    }

    /// One line to the report fd (errors; the trap-mode reporter writes there too).
    func report(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(reportFD.rawValue, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// A VMM error: say what went wrong and end the VM with EX_SOFTWARE.
    func fail(_ message: String) {
        report("bulkhead-worker: \(message)")
        powerOff(status: 70)
    }
}
