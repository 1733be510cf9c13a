import Glibc

/// The file a systemd unit names with `--config PATH` (Helpers/README.md, "Config file"):
/// the same declarations as the helper's own command-line options, one per line:
///
///     # bulkhead-block: declared files
///     file ro:/var/lib/bulkhead/vmlinux
///     file rw:/var/lib/bulkhead/disk.img
///
/// A line is `KEY VALUE`: KEY is one of the helper's own options without `--` (`file`,
/// `tap`, `hook`, `hook-arg`, `hook-timeout-ms`), then one space, then VALUE byte for byte to
/// the end of the line (no trimming, no quoting, no escapes: a path may end in a space).
/// Blank lines and lines starting with `#` are skipped. The file is read whole before any
/// declaration is checked; anything else is refused with its line number: a NUL byte, an
/// unknown or common key (`socket-fd`, `seccomp`, `listen` and `config` belong on the
/// command line), a missing value, a line over 4096 bytes, a file over 64 KiB.
public enum HelperConfigFile {
    public static let maxFileSize = 65_536
    public static let maxLineLength = 4_096

    /// The options the file declares, as command-line pairs (`["--file", "ro:/x"]`), for
    /// `HelperArguments` to check exactly as if they had been given on the command line.
    public static func options(
        from bytes: [UInt8], allowed: Set<String>, name: String = "config"
    ) throws(HelperArguments.Problem) -> [[UInt8]] {
        guard bytes.count <= maxFileSize else {
            throw .init("\(name): \(bytes.count) bytes, more than \(maxFileSize)")
        }
        if let nul = bytes.firstIndex(of: 0) {
            let line = bytes[..<nul].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            throw .init("\(name) line \(line): a NUL byte")
        }
        var result: [[UInt8]] = []
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let where_ = "\(name) line \(index + 1)"
            guard line.count <= maxLineLength else { throw .init("\(where_): longer than \(maxLineLength) bytes") }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            guard let space = line.firstIndex(of: UInt8(ascii: " ")) else {
                throw .init("\(where_): expected KEY VALUE, got \(HelperArguments.quoted(Array(line)))")
            }
            let key = Array(line[..<space])
            let value = Array(line[(space + 1)...])
            let flag = "--" + HelperArguments.text(key)
            guard key.allSatisfy({ (0x61...0x7A).contains($0) || $0 == UInt8(ascii: "-") }), allowed.contains(flag) else {
                let keys = allowed.sorted().map { String($0.dropFirst(2)) }.joined(separator: ", ")
                throw .init("\(where_): unknown key \(HelperArguments.quoted(key)) (this helper takes: \(keys))")
            }
            guard !value.isEmpty else { throw .init("\(where_): \(HelperArguments.text(key)) needs a value") }
            result.append(Array(flag.utf8))
            result.append(value)
        }
        return result
    }

    /// Reads the file at `path` (open O_RDONLY|O_CLOEXEC|O_NOCTTY, fstat: a regular file of
    /// at most `maxFileSize` bytes, read, close) and returns its options. Called at start-up,
    /// before the helper confines itself; the fd is closed before the call returns.
    public static func read(path: [UInt8], allowed: Set<String>) throws(HelperArguments.Problem) -> [[UInt8]] {
        let name = "--config \(HelperArguments.quoted(path))"
        guard path.first == UInt8(ascii: "/"), !path.contains(0) else {
            throw .init("\(name): expected an absolute path")
        }
        let fd = (path + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY | O_CLOEXEC | O_NOCTTY) }
        }
        guard fd >= 0 else { throw .init("\(name): cannot open (errno \(errno))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .init("\(name): cannot fstat (errno \(errno))") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .init("\(name): not a regular file") }
        guard status.st_size <= maxFileSize else {
            throw .init("\(name): \(status.st_size) bytes, more than \(maxFileSize)")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .init("\(name): cannot read (errno \(errno))") }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= maxFileSize else { throw .init("\(name): more than \(maxFileSize) bytes") }
        }
        return try options(from: bytes, allowed: allowed, name: name)
    }
}
