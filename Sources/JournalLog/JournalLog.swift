import CSystemd
import Glibc
import Logging

/// Who is logging: the fields every entry carries (DESIGN.md §8).
public struct LogIdentity: Sendable, Equatable {
    /// The executable, e.g. `bulkhead-block` (also SYSLOG_IDENTIFIER).
    public var process: String
    /// The seccomp role it runs under, e.g. `block`.
    public var role: String?
    /// The VM it serves, when it serves one.
    public var vm: String?

    public init(process: String, role: String? = nil, vm: String? = nil) {
        self.process = process
        self.role = role
        self.vm = vm
    }
}

/// The journal's native fields for one entry, as `NAME=value` byte strings for
/// sd_journal_sendv. Pure, so tests check it without a journal.
public enum JournalFields {
    /// Metadata keys with a journal field of their own (kill reports name the call).
    public static let wellKnown: [String: String] = [
        "syscall": "SYSCALL_NAME", "syscall-name": "SYSCALL_NAME", "syscall-nr": "SYSCALL_NR",
        "vm": "BULKHEAD_VM",
    ]

    public static func entry(
        message: String, level: Logger.Level, identity: LogIdentity, metadata: Logger.Metadata = [:]
    ) -> [[UInt8]] {
        var fields: [(String, String)] = [
            ("MESSAGE", message),
            ("PRIORITY", String(priority(level))),
            ("SYSLOG_IDENTIFIER", identity.process),
            ("BULKHEAD_PROCESS", identity.process),
        ]
        if let role = identity.role { fields.append(("BULKHEAD_ROLE", role)) }
        if let vm = identity.vm { fields.append(("BULKHEAD_VM", vm)) }
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            let name = wellKnown[key] ?? fieldName(key)
            fields.removeAll { $0.0 == name }
            fields.append((name, "\(value)"))
        }
        return fields.map { Array("\($0.0)=\($0.1)".utf8) }
    }

    /// syslog(3) priorities: journalctl -p uses them.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .critical: 2
        case .error: 3
        case .warning: 4
        case .notice: 5
        case .info: 6
        case .debug, .trace: 7
        }
    }

    /// `BULKHEAD_` + the key in A-Z 0-9 _ (the journal's field alphabet), at most 64 bytes.
    public static func fieldName(_ key: String) -> String {
        let body = key.uppercased().unicodeScalars.map { scalar -> String in
            ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) ? String(scalar) : "_"
        }.joined()
        return String(("BULKHEAD_" + body).prefix(64))
    }
}

/// What the journal and the line handler share: metadata set on the logger, then the
/// provider's, then the call's, each later one winning.
public protocol BulkheadLogHandler: LogHandler {}

extension BulkheadLogHandler {
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func allMetadata(of event: LogEvent) -> Logger.Metadata {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        return all
    }
}

/// The journal (sd_journal_sendv): one entry per log call, with `JournalFields`.
public struct JournalLogHandler: BulkheadLogHandler {
    public var identity: LogIdentity
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info

    public init(identity: LogIdentity) { self.identity = identity }

    public func log(event: LogEvent) {
        let all = allMetadata(of: event)
        _ = Self.send(JournalFields.entry(message: "\(event.message)", level: event.level, identity: identity, metadata: all))
    }

    /// sd_journal_sendv of the fields; 0 or -errno. The first call creates libsystemd's
    /// journal socket and keeps it: a confined process must log once before confining.
    @discardableResult
    public static func send(_ fields: [[UInt8]]) -> Int32 {
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            ranges.append(buffer.count..<(buffer.count + field.count))
            buffer += field
        }
        return buffer.withUnsafeMutableBytes { raw in
            var vectors = ranges.map { iovec(iov_base: raw.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            return sd_journal_sendv(&vectors, Int32(vectors.count))
        }
    }
}

/// One line on stderr per entry (`process: message key=value…`), one write(2) each.
public struct LineLogHandler: BulkheadLogHandler {
    public var identity: LogIdentity
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info

    public init(identity: LogIdentity) { self.identity = identity }

    public func log(event: LogEvent) {
        let all = allMetadata(of: event)
        var line = "\(identity.process): \(event.message)"
        for (key, value) in all.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        Self.write(line)
    }

    /// Writes `text` and a newline to fd 2 in one write(2) (retried only for the rest).
    public static func write(_ text: String) {
        writeAll(Array((text + "\n").utf8)[...])
    }

    /// `bytes` to fd 2 with write(2) only (no stdio, whose first use would fstat the fd:
    /// outside the confined profiles): one call, retried for the rest after a short write or
    /// EINTR; given up on any other error.
    public static func writeAll(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// Which backend a process logs through.
public enum BulkheadLogging {
    /// The journal when this process's stderr is a journal stream (`$JOURNAL_STREAM`, set by
    /// systemd for a service) and its socket exists; plain stderr lines otherwise. A helper the
    /// parent spawns keeps stderr even on a machine with a journal: the parent reads it.
    public static var journalReachable: Bool {
        getenv("JOURNAL_STREAM") != nil && access("/run/systemd/journal/socket", W_OK) == 0
    }

    /// The handler for `identity` under `journalReachable`.
    public static func handler(for identity: LogIdentity, journal: Bool = journalReachable) -> any LogHandler {
        journal ? JournalLogHandler(identity: identity) : LineLogHandler(identity: identity)
    }
}
