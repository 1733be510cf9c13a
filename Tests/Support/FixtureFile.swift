import Foundation
import Glibc

/// Fixture files written through O_CLOEXEC descriptors only. All test targets run in one
/// process, and suites run in parallel: a descriptor without close-on-exec that a fixture
/// holds while another suite spawns a child (Foundation.Process snapshots /proc/self/fd before
/// it forks, posix_spawn closes nothing) stays open in that child for its whole life. Its
/// close is then a write event in a watched directory long after the fixture was made, or an
/// ETXTBSY for a script the fixture wrote. Foundation's createFile, copyItem and
/// write(toFile:) open without O_CLOEXEC (strace: `openat(…, O_RDWR|O_CREAT|O_EXCL, 0666)`).
public enum FixtureFile {
    /// Creates or truncates `path` with `contents` and mode `mode` (not masked by the umask).
    @discardableResult
    public static func write(_ path: String, _ contents: some Collection<UInt8>, mode: mode_t = 0o644) throws -> String {
        let bytes = Array(contents)
        try whileCreating(path, mode: mode) { fd in
            var done = 0
            while done < bytes.count {
                let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
                guard count > 0 || (count < 0 && errno == EINTR) else { throw FixtureFailure("cannot write \(path): errno \(errno)") }
                done += max(count, 0)
            }
        }
        return path
    }

    /// `body` with `path` created or truncated and open for writing through an O_CLOEXEC fd,
    /// which is closed when `body` returns; the mode is set with fchmod (not masked by the umask).
    public static func whileCreating<T>(_ path: String, mode: mode_t = 0o644, _ body: (Int32) throws -> T) throws -> T {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FixtureFailure("cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        guard fchmod(fd, mode) == 0 else { throw FixtureFailure("cannot chmod \(path): errno \(errno)") }
        return try body(fd)
    }

    /// `write` of a string's UTF-8.
    @discardableResult
    public static func write(_ path: String, text: String, mode: mode_t = 0o644) throws -> String {
        try write(path, Array(text.utf8), mode: mode)
    }

    /// A copy of `source`'s bytes at `path`, with `source`'s permission bits (as copyItem).
    @discardableResult
    public static func copy(_ source: String, to path: String) throws -> String {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FixtureFailure("cannot open \(source): errno \(errno)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FixtureFailure("cannot stat \(source): errno \(errno)") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw FixtureFailure("cannot read \(source): errno \(errno)") }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return try write(path, bytes, mode: info.st_mode & 0o7777)
    }
}
