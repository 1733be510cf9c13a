/// The VM control socket's messages (CommandCatalog `info` … `stop`). Requests without
/// arguments share one shape; replies carry the VM's state as an enumeration index.
public enum VMState: Int, Sendable, CaseIterable {
    case running = 0
    case paused = 1
    case stopping = 2

    public var name: String { CommandCatalog.vmStateCases[rawValue] }
}

/// `info` reply.
public struct InfoReply: BodyCodable, Equatable {
    public var state: VMState
    public var vcpus: UInt32
    public var memoryMiB: UInt32
    /// One entry per device, e.g. `serial 16550`, `virtio-blk /path (ro)`.
    public var devices: [String]
    public var uptimeMilliseconds: UInt64
    /// `ROLE PID` per process of the VM, the parent first.
    public var pids: [String]

    public init(state: VMState, vcpus: UInt32, memoryMiB: UInt32, devices: [String], uptimeMilliseconds: UInt64, pids: [String]) {
        self.state = state
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.devices = devices
        self.uptimeMilliseconds = uptimeMilliseconds
        self.pids = pids
    }

    public func encode(into w: inout BodyWriter) {
        w.enumeration(state.rawValue)
        w.u32(vcpus)
        w.u32(memoryMiB)
        w.strings(devices)
        w.u64(uptimeMilliseconds)
        w.strings(pids)
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        state = VMState(rawValue: try r.enumeration("state", cases: CommandCatalog.vmStateCases))!
        vcpus = try r.u32("vcpus")
        memoryMiB = try r.u32("memory_mib")
        devices = try r.strings("devices")
        uptimeMilliseconds = try r.u64("uptime_ms")
        pids = try r.strings("pids")
    }
}

/// `metrics` reply: one `NAME VALUE` line per counter (names in README "Operating a running VM").
public struct MetricsReply: BodyCodable, Equatable {
    public var counters: [(name: String, value: UInt64)]

    public init(counters: [(name: String, value: UInt64)]) { self.counters = counters }

    public static func == (a: MetricsReply, b: MetricsReply) -> Bool {
        a.counters.map(\.name) == b.counters.map(\.name) && a.counters.map(\.value) == b.counters.map(\.value)
    }

    public func encode(into w: inout BodyWriter) {
        w.string(counters.map { "\($0.name) \($0.value)\n" }.joined())
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        counters = try Self.parse(try r.string("counters"))
    }

    /// Counter names are `[a-z0-9._-]`, at most 64 bytes; values decimal u64 in canonical
    /// form; every line ends in a newline. Anything else is malformed (so a decoded reply
    /// re-encodes to its bytes).
    public static func parse(_ text: String) throws(ProtocolError) -> [(name: String, value: UInt64)] {
        var out: [(String, UInt64)] = []
        guard !text.isEmpty else { return out }
        guard text.hasSuffix("\n") else { throw .malformedBody("field counters: the last line has no newline") }
        for line in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, isCounterName(parts[0]), let value = UInt64(parts[1]), String(value) == parts[1] else {
                throw .malformedBody("field counters: \"\(line.prefix(80))\" is not NAME VALUE")
            }
            out.append((String(parts[0]), value))
        }
        return out
    }

    /// The most counters one reply carries.
    public static let maxCounters = 256

    /// The worker's status-socket answer `metrics NAME=VALUE NAME=VALUE …` (the worker is
    /// not trusted): every entry checked like `parse`; entries past `maxCounters` or past
    /// what the 4096-byte field holds are left out, never an overflow.
    public static func fromWorkerLine(_ line: Substring) throws(ProtocolError) -> MetricsReply {
        guard line.hasPrefix("metrics ") else { throw .malformedBody("not a metrics line: \"\(line.prefix(64))\"") }
        var counters: [(name: String, value: UInt64)] = []
        var size = 0
        for entry in line.dropFirst(8).split(separator: " ") {
            let parts = entry.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, isCounterName(parts[0]), let value = UInt64(parts[1]), String(value) == parts[1] else {
                throw .malformedBody("a malformed counter \"\(entry.prefix(64))\"")
            }
            let cost = parts[0].utf8.count + parts[1].utf8.count + 2
            guard counters.count < maxCounters, size + cost <= ProtocolLimits.maxFieldLength else { break }
            counters.append((String(parts[0]), value))
            size += cost
        }
        return MetricsReply(counters: counters)
    }

    public static func isCounterName(_ name: Substring) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }
}

/// `pause`, `resume` and `stop` reply: the state the VM is in now.
public struct StateReply: BodyCodable, Equatable {
    public var state: VMState
    public init(state: VMState) { self.state = state }
    public func encode(into w: inout BodyWriter) { w.enumeration(state.rawValue) }
    public init(from r: inout BodyReader) throws(ProtocolError) {
        state = VMState(rawValue: try r.enumeration("state", cases: CommandCatalog.vmStateCases))!
    }
}

/// `stop` request: how long the guest gets to power off before the VM is ended.
public struct StopRequest: RequestMessage, Equatable {
    public typealias Reply = StateReply
    public static let command = CommandCatalog.stop
    public var timeoutMilliseconds: UInt32
    public init(timeoutMilliseconds: UInt32) { self.timeoutMilliseconds = timeoutMilliseconds }
    public func encode(into w: inout BodyWriter) { w.u32(timeoutMilliseconds) }
    public init(from r: inout BodyReader) throws(ProtocolError) { timeoutMilliseconds = try r.u32("timeout_ms") }
}
