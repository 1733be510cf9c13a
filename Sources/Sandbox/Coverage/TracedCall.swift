/// One system call as `strace -X raw -e raw=…` wrote it: its name, the six argument words the
/// kernel (and so a seccomp filter) sees, and what it returned. Arguments strace decodes
/// (a string, a struct) count as 0: no rule compares a pointer's target.
public struct TracedCall: Sendable, Hashable {
    public let name: String
    public let arguments: [UInt64]
    /// The return value; nil when the call never returned (`= ?`: the process was killed).
    public let result: Int64?
    /// The first quoted string among the arguments (a thread name, an executed path).
    public let text: String?
    /// The `/* N in strace's PID NS */` a clone's result carries: the host tid of the child.
    public let childID: Int?

    /// Nil for anything but a completed or killed call (signals, exits, blank lines).
    public init?(straceLine line: Substring) {
        guard let open = line.firstIndex(of: "("), !line.hasPrefix("---"), !line.hasPrefix("+++"),
            !line.hasPrefix("<..."), line[..<open].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        else { return nil }
        name = String(line[..<open])
        let (fields, end) = Self.fields(of: line, after: open)
        var words: [UInt64] = []
        var quoted: String?
        for field in fields {
            // Decoded clone(2): `flags=0x3d0f00` and friends, in the kernel's argument order
            // flags, stack, parent_tid, child_tid, tls; other calls print values only.
            let value = field.split(separator: "=", maxSplits: 1).last.map { $0.trimmingSpaces } ?? field
            if quoted == nil, value.hasPrefix("\"") { quoted = String(value.dropFirst().prefix { $0 != "\"" }) }
            words.append(Self.word(value))
        }
        if name == "clone" {
            let keyed = Dictionary(fields.compactMap { f -> (String, UInt64)? in
                let parts = f.split(separator: "=", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0].trimmingSpaces), Self.word(parts[1].trimmingSpaces)) : nil
            }, uniquingKeysWith: { a, _ in a })
            words = ["flags", "child_stack", "parent_tid", "child_tidptr", "tls"].map { keyed[$0] ?? 0 }
        }
        while words.count < 6 { words.append(0) }
        arguments = Array(words.prefix(6))
        // execveat(fd, "", …, AT_EMPTY_PATH) under `strace -y`: the path is the fd's `3</path>`.
        if name == "execveat", let fd = fields.first, let lt = fd.firstIndex(of: "<") {
            text = String(fd[fd.index(after: lt)...].prefix { $0 != ">" })
        } else {
            text = quoted
        }
        let rest = line[end...]
        if let equals = rest.after(" = ") {
            let value = equals.prefix { $0 != " " }
            result = value == "?" ? nil : Int64(value) ?? Self.signedHex(value)
            if let comment = rest.after("/* "), let id = Int(comment.prefix(while: \.isNumber)) {
                childID = id
            } else {
                childID = nil
            }
        } else {
            result = nil
            childID = nil
        }
    }

    /// The top-level comma-separated fields between `(` and its `)`, and the index after it.
    private static func fields(of line: Substring, after open: Substring.Index) -> ([Substring], Substring.Index) {
        var fields: [Substring] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start = line.index(after: open)
        var index = start
        while index < line.endIndex {
            let c = line[index]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "(" || c == "[" || c == "{" {
                depth += 1
            } else if c == "]" || c == "}" {
                depth -= 1
            } else if c == ")" {
                if depth == 0 {
                    let last = line[start..<index].trimmingSpaces
                    if !last.isEmpty { fields.append(last) }
                    return (fields, line.index(after: index))
                }
                depth -= 1
            } else if c == ",", depth == 0 {
                fields.append(line[start..<index].trimmingSpaces)
                start = line.index(after: index)
            }
            index = line.index(after: index)
        }
        return (fields, line.endIndex)  // `<unfinished ...>`: the arguments so far
    }

    private static func word(_ text: Substring) -> UInt64 {
        if text == "NULL" { return 0 }
        if let v = signedHex(text) { return UInt64(bitPattern: v) }
        if let v = Int64(text) { return UInt64(bitPattern: v) }
        return 0
    }

    private static func signedHex(_ text: Substring) -> Int64? {
        guard text.hasPrefix("0x"), let v = UInt64(text.dropFirst(2), radix: 16) else { return nil }
        return Int64(bitPattern: v)
    }
}

extension Substring {
    /// What follows the first `marker` (Foundation's range(of:) without Foundation).
    func after(_ marker: String) -> Substring? {
        let m = Array(marker.utf8)
        let bytes = Array(utf8)
        guard bytes.count >= m.count else { return nil }
        for i in 0...(bytes.count - m.count) where bytes[i..<(i + m.count)].elementsEqual(m) {
            return Substring(decoding: bytes[(i + m.count)...], as: UTF8.self)
        }
        return nil
    }

    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
