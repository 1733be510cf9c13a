import CWorker
import KVM
import Synchronization

/// Pause and resume of every vCPU (`bulkhead ctl NAME pause|resume`). Pausing sets each
/// vCPU's kvm_run.immediate_exit and kicks its thread with BH_KICK_SIGNAL (tgkill, in the
/// control profile): a vCPU inside KVM_RUN comes out with EINTR, and one about to enter
/// comes straight back, so no kick is lost. Each vCPU thread then holds on the gate's
/// condition variable (futex) until resume, and KVM_RUN continues where the guest was: its
/// registers never left the kernel. The vCPU threads make no call their profile did not
/// already allow (futex, and rt_sigreturn for the empty handler).
final class PauseGate: @unchecked Sendable {
    // Sendable: fields are only touched under `monitor`; vcpus is fixed at init.
    private let monitor = Monitor()
    private let vcpus: [VCPU]
    private var paused = false {
        didSet { pausedHint.store(paused, ordering: .releasing) }
    }
    /// `paused` for the vCPU threads' check after every exit, without taking the lock: a
    /// pause that lands just after the check is caught by immediate_exit at the next KVM_RUN.
    private let pausedHint = Atomic<Bool>(false)
    /// vCPU threads holding at the gate, and those that will never run again (a parked AP,
    /// a failed vCPU): both count as out of KVM_RUN.
    private var holding = 0
    private var parked = 0
    /// Thread ids to kick, by vCPU index (0 until the thread registers).
    private var threadIDs: [Int32]

    init(vcpus: [VCPU]) {
        self.vcpus = vcpus
        threadIDs = Array(repeating: 0, count: vcpus.count)
    }

    var isPaused: Bool { monitor.withLock { paused } }

    /// A vCPU thread, before its first KVM_RUN.
    func register(vcpu index: Int) {
        let tid = bh_thread_id()
        monitor.withLock { threadIDs[index] = tid }
    }

    /// Resets so far: a parked vCPU runs again after the next one.
    private var resets = 0

    /// A vCPU thread with nothing to run (a parked AP, a failed vCPU): out of KVM_RUN, so a
    /// pause does not wait for it, until a `reset` starts it again.
    func parkUntilReset() {
        monitor.withLock {
            parked += 1
            monitor.broadcast()
            let seen = resets
            monitor.wait { resets != seen }
            parked -= 1
        }
    }

    /// Control thread, while paused: `restart` puts the VM back to its start (registers,
    /// memory, devices), then every vCPU, parked ones too, runs from there.
    func reset(_ restart: () -> Void) {
        pause()
        restart()
        monitor.withLock {
            resets += 1
            paused = false
            clearImmediateExits()
            monitor.broadcast()
        }
    }

    /// Control thread: returns once every vCPU is out of KVM_RUN and held.
    func pause() {
        let tids: [Int32] = monitor.withLock {
            guard !paused else { return [] }
            paused = true
            for vcpu in vcpus { vcpu.setImmediateExit(true) }
            return threadIDs
        }
        for tid in tids where tid > 0 { _ = bh_kick_thread(tid) }
        monitor.withLock { monitor.wait { holding + parked >= vcpus.count } }
    }

    /// Control thread: lets every held vCPU go on.
    func resume() {
        monitor.withLock {
            paused = false
            clearImmediateExits()
            monitor.broadcast()
        }
    }

    /// A held vCPU cleared its own; a parked one never saw the pause, and must not come back
    /// from a reset with KVM_RUN returning at once. Called with the lock held.
    private func clearImmediateExits() {
        for vcpu in vcpus { vcpu.setImmediateExit(false) }
    }

    /// A vCPU thread, after every return from KVM_RUN: holds while paused. Before holding it
    /// enters KVM_RUN once more with immediate_exit still set, which completes an I/O or MMIO
    /// exit it has handled and returns at once (the KVM API's way to make the vCPU's state
    /// consistent, so a reset's KVM_SET_REGS is not undone by a pending completion).
    func holdIfPaused(_ vcpu: VCPU) {
        guard pausedHint.load(ordering: .acquiring) else { return }
        _ = try? vcpu.run()
        monitor.withLock {
            guard paused else { return }
            vcpu.setImmediateExit(false)
            holding += 1
            monitor.broadcast()
            monitor.wait { !paused }
            holding -= 1
        }
    }
}
