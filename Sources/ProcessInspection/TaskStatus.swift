/// The security-relevant lines of /proc/PID/task/TID/status (proc(5)). Parsing never traps:
/// a missing or malformed line leaves its field nil, so hostile or truncated input (a
/// thread that exits mid-read, a kernel with other fields) gives a partial status.
public struct TaskStatus: Equatable, Sendable {
    /// `Name:` — the thread's name (comm): `vcpu0`, `io`, `bulkhead-worke`…
    public var name: String?
    /// `Uid:`/`Gid:` — real, effective, saved, filesystem.
    public var uids: [UInt32]?
    public var gids: [UInt32]?
    public var capEff: UInt64?
    public var capPrm: UInt64?
    public var capBnd: UInt64?
    public var capInh: UInt64?
    public var capAmb: UInt64?
    public var noNewPrivs: Bool?
    /// `Seccomp:` — 0 none, 1 strict, 2 filter.
    public var seccompMode: Int?
    /// `Seccomp_filters:` — how many filters are stacked on this thread.
    public var seccompFilters: Int?

    public init() {}

    /// Parses the text of a status file.
    public init(parsing text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            switch key {
            case "Name": name = String(value)
            case "Uid": uids = Self.ids(value)
            case "Gid": gids = Self.ids(value)
            case "CapEff": capEff = Self.mask(value)
            case "CapPrm": capPrm = Self.mask(value)
            case "CapBnd": capBnd = Self.mask(value)
            case "CapInh": capInh = Self.mask(value)
            case "CapAmb": capAmb = Self.mask(value)
            case "NoNewPrivs": noNewPrivs = Self.flag(value)
            case "Seccomp": seccompMode = Self.small(value)
            case "Seccomp_filters": seccompFilters = Self.small(value)
            default: continue
            }
        }
    }

    /// Four decimal ids separated by tabs; anything else is nil.
    static func ids(_ value: Substring) -> [UInt32]? {
        let parts = value.split(whereSeparator: { $0 == "\t" || $0 == " " })
        guard parts.count == 4 else { return nil }
        let numbers = parts.compactMap { UInt32($0) }
        return numbers.count == 4 ? numbers : nil
    }

    /// Exactly 16 hex digits (the kernel prints capability sets with %016llx).
    static func mask(_ value: Substring) -> UInt64? {
        let trimmed = value.trimmingSpaces()
        guard trimmed.utf8.count == 16 else { return nil }
        return UInt64(trimmed, radix: 16)
    }

    static func flag(_ value: Substring) -> Bool? {
        switch value.trimmingSpaces() {
        case "0": false
        case "1": true
        default: nil
        }
    }

    /// A non-negative decimal below a million (mode or filter count).
    static func small(_ value: Substring) -> Int? {
        let trimmed = value.trimmingSpaces()
        guard trimmed.utf8.count <= 6, let n = Int(trimmed), n >= 0 else { return nil }
        return n
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return s
    }
}
