import Glibc
import Sandbox

/// A thread of one worker role, confined the way the worker confines it: named, then its
/// role filter stacked on the process filter, then (optionally) the probe call.
final class ProbeThread {
    let role: Role
    let mode: FilterMode
    let work: (@Sendable () -> Void)?
    private var thread = pthread_t()
    private var lock = pthread_mutex_t()
    private var changed = pthread_cond_t()
    private var confined = false

    init(role: Role, mode: FilterMode, work: (@Sendable () -> Void)?) {
        self.role = role
        self.mode = mode
        self.work = work
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&changed, nil)
    }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, probeThreadEntry, context)
        precondition(created == 0, "pthread_create: \(created)")
    }

    func join() { pthread_join(thread, nil) }

    /// Waits (futex, which every role allows) until the thread has loaded its filter.
    func waitUntilConfined() {
        pthread_mutex_lock(&lock)
        while !confined { pthread_cond_wait(&changed, &lock) }
        pthread_mutex_unlock(&lock)
    }

    fileprivate func run() {
        do {
            try Confinement.confineThread(named: role.threadName(), as: role, mode: mode)
        } catch {
            fatalError("confining \(role.rawValue): \(error)")
        }
        pthread_mutex_lock(&lock)
        confined = true
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&lock)
        guard let work else {
            // Parked for good, as a finished worker thread is: no thread exit under a role.
            pthread_mutex_lock(&lock)
            while true { pthread_cond_wait(&changed, &lock) }
        }
        work()
    }
}

private func probeThreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<ProbeThread>.fromOpaque(context!).takeRetainedValue().run()
    return nil
}
