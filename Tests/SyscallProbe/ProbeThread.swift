import Glibc
import Sandbox

/// A thread of one worker role, confined the way the worker confines it: named, then its
/// role filter stacked on the process filter, then (optionally) the probe call.
final class ProbeThread {
    let role: Role
    let mode: FilterMode
    let work: (@Sendable () -> Void)?
    private var thread = pthread_t()

    init(role: Role, mode: FilterMode, work: (@Sendable () -> Void)?) {
        self.role = role
        self.mode = mode
        self.work = work
    }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, probeThreadEntry, context)
        precondition(created == 0, "pthread_create: \(created)")
    }

    func join() { pthread_join(thread, nil) }

    fileprivate func run() {
        do {
            try Confinement.confineThread(named: role.threadName(), as: role, mode: mode)
        } catch {
            fatalError("confining \(role.rawValue): \(error)")
        }
        work?()
    }
}

private func probeThreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<ProbeThread>.fromOpaque(context!).takeRetainedValue().run()
    return nil
}
