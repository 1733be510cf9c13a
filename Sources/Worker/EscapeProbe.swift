import CShim
import CWorker
import Devices
import Glibc
import KVM
import SystemPackage

/// The deliberately insecure escape-probe device (`--device escape-probe`): the guest writes
/// the guest-physical address of a `struct escape_request` (Guest/layout.h) to port 0x510,
/// and the vCPU thread handling that exit performs the syscall exactly as given; to port
/// 0x511, and the io thread performs it. This is what a guest that broke the device model
/// could do, so the tests prove through it that each thread's filter holds. The io thread
/// learns of a request through `wakeFD` (an eventfd it polls beside the console input). Pointer
/// arguments (a path, a sockaddr) are checked and translated by `EscapeRequest`.
final class EscapeProbe: @unchecked Sendable {
    // Sendable: the hand-over slot is only touched under `monitor`.
    private let memory: GuestMemory
    private let monitor = Monitor()
    private var pending: UnsafeMutableRawPointer?
    private var answered = false
    /// eventfd: the vCPU thread writes it to hand a request to the io thread.
    let wakeFD: FileDescriptor

    init(memory: GuestMemory) throws(WorkerError) {
        self.memory = memory
        let fd = bh_eventfd_cloexec(0)
        guard fd >= 0 else { throw .system(call: "eventfd", errno: -fd) }
        wakeFD = FileDescriptor(rawValue: fd)
    }

    /// The request block at guest address `address`, or nil when it is not inside guest memory.
    func request(at address: UInt32) -> UnsafeMutableRawPointer? {
        memory.pointer(at: UInt64(address), count: EscapeRequest.size)
    }

    /// Performs the request on the calling thread: raw syscall, result and done flag back;
    /// or, when a pointer argument is not inside guest memory, the refusal and no syscall.
    func perform(_ request: UnsafeMutableRawPointer) {
        switch EscapeRequest.decode(request, in: memory) {
        case .success(let call):
            let a = call.arguments
            let result = bh_raw_syscall(call.number, a[0], a[1], a[2], a[3], a[4], a[5])
            EscapeRequest.answer(request, .performed, result: result)
        case .failure(let refusal):
            EscapeRequest.answer(request, refusal.answer, result: refusal.argument)
        }
    }

    /// vCPU side of `@io`: hands the request to the io thread, wakes it and waits for its answer.
    func performOnIOThread(_ request: UnsafeMutableRawPointer) {
        monitor.withLock {
            pending = request
            answered = false
        }
        var one: UInt64 = 1
        _ = write(wakeFD.rawValue, &one, 8)
        monitor.withLock { monitor.wait { answered } }
    }

    /// io-thread side, when `wakeFD` is readable: performs the waiting request and answers.
    func serveIOThread() {
        var value: UInt64 = 0
        _ = read(wakeFD.rawValue, &value, 8)
        guard let request = monitor.withLock({ pending }) else { return }
        perform(request)
        monitor.withLock {
            pending = nil
            answered = true
            monitor.broadcast()
        }
    }
}
