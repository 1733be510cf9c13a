import Glibc

/// A pthread running `body`. No Dispatch, no Foundation: the worker's threads are plain
/// pthreads so each can stack its own seccomp filter.
final class WorkerThread {
    private final class Start {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// pthread_create with default attributes.
    @discardableResult
    static func start(_ body: @escaping () -> Void) throws(WorkerError) -> pthread_t {
        let start = Unmanaged.passRetained(Start(body)).toOpaque()
        var thread = pthread_t()
        let r = pthread_create(&thread, nil, { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            start.body()
            return nil
        }, start)
        guard r == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw WorkerError.system(call: "pthread_create", errno: r)
        }
        return thread
    }
}
