import Glibc

/// A pthread mutex and condition variable pair (futex underneath: allowed on every role).
final class Monitor: @unchecked Sendable {
    // Sendable: every access to guarded state happens between lock() and unlock().
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (with the lock held) until `done()` is true.
    func wait(until done: () -> Bool) {
        while !done() { pthread_cond_wait(condition, mutex) }
    }

    func broadcast() { pthread_cond_broadcast(condition) }
}
