import Glibc

/// Output kept up to a cap; everything after it is read and thrown away.
struct CappedOutput {
    let cap: Int
    private(set) var bytes: [UInt8] = []
    private(set) var truncated = false
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(cap: Int) { self.cap = max(cap, 0) }

    /// One read(2). Returns false once the pipe is at end of file (or broken).
    mutating func readOnce(from fd: Int32) -> Bool {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 { return errno == EINTR || errno == EAGAIN }
        if count == 0 { return false }
        let room = cap - bytes.count
        if count > room { truncated = true }
        if room > 0 { bytes += buffer.prefix(min(room, count)) }
        return true
    }
}
