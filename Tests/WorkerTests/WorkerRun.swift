import Glibc

/// One run of `bulkhead-worker`, spawned the way the parent does it: /dev/kvm opened here
/// and passed as fd 3, stdout and stderr captured, SWIFT_BACKTRACE=enable=no.
struct WorkerRun {
    enum Ending: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    let pid: pid_t
    let ending: Ending
    let output: String
    let errors: String
    /// Milliseconds from spawn to the first byte on the console (stdout), if any.
    let firstByteMilliseconds: Double?

    /// Runs the worker; `statusFD`, when given, becomes the worker's fd 4, and each of
    /// `passing` (worker fd → our fd) is passed too. `stopWhen` sees the console output so far (and
    /// the worker's pid, to look at it while it runs) and ends the run early (SIGKILL).
    static func run(
        _ arguments: [String], statusFD: Int32? = nil, passing: [Int32: Int32] = [:],
        stopWhen: ((String, pid_t) -> Bool)? = nil, timeoutSeconds: Double = 30
    ) throws -> WorkerRun {
        let kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        guard kvm >= 0 else { throw Failure("open /dev/kvm: errno \(errno)") }
        defer { close(kvm) }
        var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw Failure("pipe") }
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // never leak into other tests' children

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, kvm, 3)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        if let statusFD { posix_spawn_file_actions_adddup2(&actions, statusFD, 4) }
        for (target, source) in passing { posix_spawn_file_actions_adddup2(&actions, source, target) }

        let path = workerPath()
        let argv: [UnsafeMutablePointer<CChar>?] = ([path, "--kvm-fd", "3"] + arguments).map { (s: String) in strdup(s) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ["SWIFT_BACKTRACE=enable=no", "PATH=/usr/bin:/bin"].map { (s: String) in strdup(s) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let start = monotonicMilliseconds()
        let r = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(out[1])
        close(err[1])
        guard r == 0 else {
            close(out[0]); close(err[0])
            throw Failure("posix_spawn \(path): \(r)")
        }

        var output = [UInt8](), errors = [UInt8]()
        var firstByte: Double?
        var fds = [pollfd(fd: out[0], events: Int16(POLLIN), revents: 0), pollfd(fd: err[0], events: Int16(POLLIN), revents: 0)]
        let deadline = start + timeoutSeconds * 1000
        var killed = false
        while fds.contains(where: { $0.fd >= 0 }) {
            let left = Int32(max(0, deadline - monotonicMilliseconds()))
            if left == 0 && !killed { kill(pid, SIGKILL); killed = true }
            _ = poll(&fds, nfds_t(fds.count), killed ? 1000 : left)
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n <= 0 {
                    close(fds[i].fd)
                    fds[i].fd = -1
                    continue
                }
                if i == 0 {
                    if firstByte == nil { firstByte = monotonicMilliseconds() - start }
                    output += buffer[0..<n]
                    if !killed, let stopWhen, stopWhen(String(decoding: output, as: UTF8.self), pid) {
                        kill(pid, SIGKILL)
                        killed = true
                    }
                } else {
                    errors += buffer[0..<n]
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let ending: Ending = status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
        return WorkerRun(
            pid: pid, ending: ending, output: String(decoding: output, as: UTF8.self),
            errors: String(decoding: errors, as: UTF8.self), firstByteMilliseconds: firstByte)
    }

    /// `bulkhead-worker` beside the test binary (or beside its .xctest bundle).
    static func workerPath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var directory = String(cString: buffer.prefix(max(0, n)) + [0])
        repeat {
            directory = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
        } while directory.hasSuffix(".xctest") || directory.contains(".xctest/")
        return directory + "/bulkhead-worker"
    }

    static func monotonicMilliseconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1e6
    }

    var lines: [Substring] { output.split(separator: "\n") }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
