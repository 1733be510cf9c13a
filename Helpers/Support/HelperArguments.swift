import Sandbox

/// A helper's command line: the common flags every helper takes (`--socket-fd N` or
/// `--listen`, `--seccomp kill|trap|log|none`, `--config PATH`) and its own repeatable options, as raw bytes (a path
/// may be any bytes but NUL). Parsing is pure: no fd is touched here.
public struct HelperArguments: Sendable {
    /// Why a command line was refused; `description` names the offending item.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The inherited SOCK_SEQPACKET connection (the parent maps it to fd 3), or with
    /// `--listen` the listening socket systemd passes (SD_LISTEN_FDS_START, fd 3).
    public let socketFD: Int32
    /// `--listen`: serve connections accepted on a socket-activated listening socket.
    public let listens: Bool
    /// `--config PATH`: a file of further declarations (`HelperConfigFile`), read at start-up.
    public let configPath: [UInt8]?
    public let mode: FilterMode
    /// Each of the helper's own options, its values in command-line order.
    public let values: [String: [[UInt8]]]

    /// fds 0…2 are stdio; the socket must be above them. The upper bound keeps the
    /// start-up close loop short (see `HelperStartup.closeInheritedFDs`).
    public static let socketFDRange: ClosedRange<Int32> = 3...65_535

    /// Parses `arguments` (argv without the program name). `options` are the helper's own
    /// flags, each taking one value; `single` are those that may appear only once.
    public init(_ arguments: [[UInt8]], options: Set<String>, single: Set<String> = []) throws(Problem) {
        var socketFD: Int32?
        var mode: FilterMode?
        var listens = false
        var configPath: [UInt8]?
        var values: [String: [[UInt8]]] = [:]
        var index = 0
        while index < arguments.count {
            let flag = Self.text(arguments[index])
            if flag == "--listen" {
                if listens { throw Problem("--listen given twice") }
                listens = true
                index += 1
                continue
            }
            guard flag == "--socket-fd" || flag == "--seccomp" || flag == "--config" || options.contains(flag) else {
                throw Problem("unknown option \(Self.quoted(arguments[index]))")
            }
            guard index + 1 < arguments.count else { throw Problem("\(flag) needs a value") }
            let value = arguments[index + 1]
            index += 2
            switch flag {
            case "--socket-fd":
                if socketFD != nil { throw Problem("--socket-fd given twice") }
                guard let number = Int32(Self.text(value)), Self.socketFDRange.contains(number) else {
                    throw Problem(
                        "--socket-fd \(Self.quoted(value)): not an fd number in \(Self.socketFDRange.lowerBound)…\(Self.socketFDRange.upperBound)")
                }
                socketFD = number
            case "--seccomp":
                if mode != nil { throw Problem("--seccomp given twice") }
                guard let parsed = try? FilterMode(parsing: Self.text(value)) else {
                    throw Problem("--seccomp \(Self.quoted(value)): not one of kill, trap, log, none")
                }
                mode = parsed
            case "--config":
                if configPath != nil { throw Problem("--config given twice") }
                configPath = value
            default:
                if single.contains(flag) && values[flag] != nil { throw Problem("\(flag) given twice") }
                values[flag, default: []].append(value)
            }
        }
        if listens && socketFD != nil { throw Problem("--listen and --socket-fd exclude each other") }
        guard let socketFD = socketFD ?? (listens ? Self.listenFD : nil) else {
            throw Problem("--socket-fd is required (or --listen)")
        }
        self.socketFD = socketFD
        self.listens = listens
        self.configPath = configPath
        self.mode = mode ?? .kill
        self.values = values
    }

    /// SD_LISTEN_FDS_START: the first fd systemd passes to a socket-activated service.
    public static let listenFD: Int32 = 3

    /// The process's own argv, byte for byte (CommandLine.arguments would repair bytes
    /// that are not UTF-8, and a declared path must be taken exactly as given).
    public static func commandLine() -> [[UInt8]] {
        (1..<Int(CommandLine.argc)).map { index in
            guard let pointer = CommandLine.unsafeArgv[index] else { return [] }
            var bytes: [UInt8] = []
            var offset = 0
            while pointer[offset] != 0 {
                bytes.append(UInt8(bitPattern: pointer[offset]))
                offset += 1
            }
            return bytes
        }
    }

    /// The values of `flag`, in order (empty if it was not given).
    public subscript(flag: String) -> [[UInt8]] { values[flag] ?? [] }

    /// Splits `NAME<separator>REST` at the first separator; nil if there is none.
    public static func split(_ value: [UInt8], at separator: Character) -> (head: [UInt8], tail: [UInt8])? {
        let byte = separator.asciiValue!
        guard let index = value.firstIndex(of: byte) else { return nil }
        return (Array(value[..<index]), Array(value[(index + 1)...]))
    }

    /// Bytes as text for a message; invalid UTF-8 is replaced (use `quoted` to show them).
    public static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Bytes quoted for a log line: printable ASCII as is, anything else as `\xNN`.
    public static func quoted(_ bytes: [UInt8]) -> String {
        var text = "\""
        for byte in bytes.prefix(200) {
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text + (bytes.count > 200 ? "…\"" : "\"")
    }
}
