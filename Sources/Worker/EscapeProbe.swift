import CShim
import KVM

/// The deliberately insecure escape-probe device (`--device escape-probe`): the guest writes
/// the guest-physical address of a `struct escape_request` (Guest/layout.h) to port 0x510,
/// and the vCPU thread handling that exit performs the syscall exactly as given; to port
/// 0x511, and the io thread performs it. This is what a guest that broke the device model
/// could do, so the tests prove through it that each thread's filter holds.
final class EscapeProbe: @unchecked Sendable {
    // Sendable: the hand-over slot is only touched under `monitor`.
    private let memory: GuestMemory
    private let monitor = Monitor()
    private var pending: UnsafeMutableRawPointer?
    private var answered = false

    init(memory: GuestMemory) { self.memory = memory }

    /// The request block at guest address `address`, or nil when it is not inside guest memory.
    func request(at address: UInt32) -> UnsafeMutableRawPointer? {
        memory.pointer(at: UInt64(address), count: 72)
    }

    /// Performs the request on the calling thread: raw syscall, result and done flag back.
    static func perform(_ request: UnsafeMutableRawPointer) {
        func word(_ i: Int) -> Int { request.loadUnaligned(fromByteOffset: 8 * i, as: Int.self) }
        let result = bh_raw_syscall(word(0), word(1), word(2), word(3), word(4), word(5), word(6))
        request.storeBytes(of: result, toByteOffset: 56, as: Int.self)
        request.storeBytes(of: UInt32(1), toByteOffset: 64, as: UInt32.self)
    }

    /// vCPU side of `@io`: hands the request to the io thread and waits for its answer.
    func performOnIOThread(_ request: UnsafeMutableRawPointer) {
        monitor.withLock {
            pending = request
            answered = false
            monitor.broadcast()
            monitor.wait { answered }
        }
    }

    /// io-thread side: waits for a request, performs it, answers. Never returns.
    func serveIOThread() -> Never {
        while true {
            let request = monitor.withLock {
                monitor.wait { pending != nil }
                return pending!
            }
            Self.perform(request)
            monitor.withLock {
                pending = nil
                answered = true
                monitor.broadcast()
            }
        }
    }
}
