import Glibc

/// One line on stderr, written with a single write(2): no stdio, whose first use would
/// fstat the fd (outside the block and net profiles), and no interleaving within a line.
public enum HelperLog {
    public static func line(_ program: String, _ text: String) {
        var bytes = Array("\(program): \(text)\n".utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Logs `text` and exits with `status`, at start-up (before serving).
    public static func fail(_ program: String, _ status: HelperExit, _ text: String) -> Never {
        line(program, text)
        exit(status.rawValue)
    }
}
