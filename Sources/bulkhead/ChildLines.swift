import CParent
import Glibc
import SystemPackage

/// Lines a child writes to the sealed parent (the worker's report pipe and status socket,
/// each helper's stderr pipe), read into a buffer that never holds more than `maximumLine` bytes. The parent stays
/// outside the VM's cgroup, so `--memory-limit` does not bound it: without this bound a
/// compromised worker writing without newlines would grow the root parent without limit.
struct ChildLines {
    /// The longest line a child may write, newline included.
    static let maximumLine = 64 * 1024
    static let readSize = 4096

    /// What one read brought: complete lines without their newline, and whether the stream ended.
    struct Reading {
        var lines: [ArraySlice<UInt8>] = []
        var end: End?
    }

    enum End: Equatable {
        /// The child closed its end (an unterminated last line is in `lines`).
        case closed
        /// A line grew past `maximumLine` without a newline: `dropped` bytes of it were read
        /// and thrown away. Nothing more is read from this child.
        case overflow(dropped: Int)
    }

    let fd: FileDescriptor
    /// The start of the line not yet ended; at most `maximumLine - 1` bytes.
    private var pending: [UInt8] = []

    init(fd: FileDescriptor) { self.fd = fd }

    /// One read(2) of at most `readSize` bytes (EINTR and EAGAIN bring nothing).
    mutating func read() -> Reading {
        var buffer = [UInt8](repeating: 0, count: Self.readSize)
        let n = Glibc.read(fd.rawValue, &buffer, buffer.count)
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return Reading() }
        guard n > 0 else {
            defer { pending = [] }
            return Reading(lines: pending.isEmpty ? [] : [pending[...]], end: .closed)
        }
        return take(buffer[..<n])
    }

    /// Splits `bytes`, after what is pending, at newlines; keeps the unterminated rest.
    mutating func take(_ bytes: ArraySlice<UInt8>) -> Reading {
        var reading = Reading()
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: 0x0A) {
            reading.lines.append(pending.isEmpty ? bytes[start..<newline] : (pending + bytes[start..<newline])[...])
            pending = []
            start = newline + 1
        }
        let rest = bytes[start...]
        if pending.count + rest.count >= Self.maximumLine {
            reading.end = .overflow(dropped: pending.count + rest.count)
            pending = []
        } else {
            pending += rest
        }
        return reading
    }

    /// Relays (sanitised) whatever the child's writers, all gone, left in the stream: reads
    /// while ppoll says it is readable, at most `maximumLine` per line as always; the bytes
    /// of an overlong line are dropped.
    mutating func relayWhatIsLeft(from child: String) {
        for _ in 0..<Self.maximumDrainReads {
            var ready = [pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)]
            guard bh_ppoll_ms(&ready, 1, 0) > 0 else { return }
            let reading = read()
            for line in reading.lines { StandardError.relay(Self.sanitised(line, from: child)) }
            if reading.end != nil { return }
        }
    }

    /// Bounds the drain of a stream a writer that did not end (a helper's child) keeps feeding.
    static let maximumDrainReads = 256

    /// `line` as it may reach the operator's terminal or journal: every control character
    /// (C0, DEL, C1: terminal escape sequences start with them) as \xNN, invalid UTF-8 as
    /// U+FFFD, and a `bulkhead-CHILD: ` prefix (`bulkhead-worker`, `bulkhead-block`, …) unless
    /// it already has one, so no line from a child can pass for one of the parent's own
    /// (`bulkhead: …`).
    static func sanitised(_ line: ArraySlice<UInt8>, from child: String) -> String {
        var text = ""
        for scalar in String(decoding: line, as: UTF8.self).unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                let hex = String(scalar.value, radix: 16)
                text += "\\x" + (hex.count < 2 ? "0" : "") + hex
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        let prefix = "bulkhead-\(child)"
        return text.hasPrefix(prefix + ":") || text.hasPrefix(prefix + "[") ? text : "\(prefix): \(text)"
    }
}
