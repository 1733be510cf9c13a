import Glibc

/// Runs `attempt` until it finds the kernel's seccomp audit record it needs in /dev/kmsg.
///
/// The kernel prints audit records (no auditd) through printk_ratelimit(), one budget of 10
/// lines per 5 s shared by the whole machine (with "traps: …" and other rate-limited lines):
/// the suites running in parallel spend it in bursts, and a record past the budget never
/// reaches /dev/kmsg. So a miss is retried only after the 5 s window has passed, and only as
/// far as it can be shown to be rate limiting: the kernel's own "N callbacks suppressed" line
/// must follow the miss. Tests that need a record also take a machine-wide lock, so two of
/// them (in different test processes) do not spend each other's budget.
public struct KernelAuditRetry {
    /// Attempts made; the number of them that found no record.
    public private(set) var attempts = 0
    public private(set) var misses = 0
    /// Whether the kernel said it suppressed lines after the first miss (true when none missed).
    public private(set) var missesWereRateLimited = true

    static let windowMicroseconds: useconds_t = 5_500_000
    static let lockPath = "/tmp/bulkhead-kernel-audit.lock"

    /// `attempt` returns true when it found the record. At most `limit` attempts.
    public init(limit: Int = 12, _ attempt: () throws -> Bool) rethrows {
        let lock = open(Self.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        precondition(lock >= 0, "cannot open the kernel audit lock: errno \(errno)")
        defer { close(lock) }  // closing releases the lock
        while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
        let kmsg = KernelMessages()
        while attempts < limit {
            attempts += 1
            if try attempt() { break }
            misses += 1
            usleep(Self.windowMicroseconds)
        }
        if misses > 0 {
            missesWereRateLimited = kmsg.lines().contains { $0.contains(" callbacks suppressed") }
        }
    }
}

/// /dev/kmsg read from where it ended when this was made.
private struct KernelMessages: ~Copyable {
    let fd: Int32

    init() {
        fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        precondition(fd >= 0, "cannot open /dev/kmsg: errno \(errno)")
        lseek(fd, 0, SEEK_END)
    }

    deinit { close(fd) }

    /// Every message written since; each read returns one record, EAGAIN means no more.
    func lines() -> [String] {
        var lines: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && (errno == EPIPE || errno == EINTR) { continue }  // overwritten: go on
            guard count > 0 else { break }
            let record = String(decoding: buffer[..<count], as: UTF8.self)
            if let semicolon = record.firstIndex(of: ";") {
                lines.append(String(record[record.index(after: semicolon)...].prefix { $0 != "\n" }))
            }
        }
        return lines
    }
}
