import Foundation
import Glibc
import SystemPackage
import Testing
import TestSupport

@testable import HostAccess

/// Every HostAccess test runs in this one serialized suite: the fd counts and the taps,
/// loop devices and process groups the tests create must not interleave.
@Suite(.serialized) enum HostAccessSuite {}

/// A fresh directory under /tmp, removed with everything in it when `body` returns.
func withFixture<T>(_ body: (Fixture) throws -> T) throws -> T {
    let fixture = try Fixture()
    defer { fixture.remove() }
    return try body(fixture)
}

struct Fixture {
    let root: String

    init() throws {
        var template = Array("/tmp/bh-hostaccess-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError("mkdtemp failed: \(errno)") }
        root = String(cString: made)
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    /// Written through an O_CLOEXEC fd (FixtureFile): a child another test forks meanwhile must
    /// not keep the file open for writing, or exec of a script written here fails with ETXTBSY.
    @discardableResult
    func file(_ relative: String, contents: String = "disk contents\n", mode: Int = 0o644) throws -> String {
        try FixtureFile.write(path(relative), text: contents, mode: mode_t(mode))
    }

    @discardableResult
    func directory(_ relative: String) throws -> String {
        let path = path(relative)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @discardableResult
    func symlink(_ relative: String, to target: String) throws -> String {
        let path = path(relative)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        return path
    }

    func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(path(from), path(to)) == 0 else { throw FixtureError("rename failed: \(errno)") }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a host command (ip, losetup, python3…) and returns its status and output.
@discardableResult
func host(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try runToEnd("/usr/bin/env", arguments)
}

/// The open fds of this process and what each refers to (readlink of /proc/self/fd/N).
func openDescriptors() -> [Int32: String] {
    var result: [Int32: String] = [:]
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for name in names {
        guard let fd = Int32(name) else { continue }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/fd/\(name)", &buffer, buffer.count - 1)
        if count >= 0 { result[fd] = String(cString: Array(buffer.prefix(count)) + [0]) }
    }
    return result
}

/// The fds opened during `body` that are still open afterwards and refer to something the
/// host-access code opens (the file system walk from "/", /proc, /dev, /sys, the fixture,
/// pipes and pidfds). Other test targets may run concurrently with their own fds, so only
/// these targets count as ours.
func descriptorsLeaked<T>(fixture: Fixture? = nil, by body: () throws -> T) rethrows -> (T, [String]) {
    // Foundation opens /dev/null once, lazily, for the first test anywhere that uses
    // FileHandle.nullDevice, and keeps it: open it before the count, not during it.
    _ = FileHandle.nullDevice.fileDescriptor
    let before = openDescriptors()
    let value = try body()
    let after = openDescriptors()
    var leaked: [String] = []
    for (fd, target) in after where before[fd] != target {
        let ours =
            target == "/" || target.hasPrefix("/tmp") || target.hasPrefix("/proc")
            || target.hasPrefix("/dev") || target.hasPrefix("/sys") || target.hasPrefix("pipe:")
            || target.contains("pidfd") || (fixture.map { target.hasPrefix($0.root) } ?? false)
        if ours { leaked.append("\(fd) -> \(target)") }
    }
    // Other suites run meanwhile and open fds of the same kinds for a moment (/proc scans,
    // /dev/null and pipes for the processes they start). A real leak is still open a
    // moment later; a pipe also counts only if no other live process holds it (a
    // concurrent test's child): the host-access code has no child left once it returns.
    for _ in 0..<3 where !leaked.isEmpty {
        Thread.sleep(forTimeInterval: 0.3)
        let now = openDescriptors()
        leaked = leaked.filter { entry in
            let parts = entry.components(separatedBy: " -> ")
            guard let fd = Int32(parts[0]), now[fd] == parts[1] else { return false }
            return !parts[1].hasPrefix("pipe:") || !isHeldByAnotherProcess(parts[1])
        }
    }
    return (value, leaked)
}

/// Whether a live process other than this one has an fd on `target` (e.g. `pipe:[123]`).
func isHeldByAnotherProcess(_ target: String) -> Bool {
    let me = String(getpid())
    let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for pid in pids where pid != me && pid.allSatisfy(\.isNumber) {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        for fd in fds where (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) == target {
            return true
        }
    }
    return false
}

/// Runs `body`, which must throw a `FileRefusal`; returns it and checks no fd was left open.
func refusal<E: Error>(
    _ type: E.Type, fixture: Fixture? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) -> E? {
    let (caught, leaked) = descriptorsLeaked(fixture: fixture) { () -> Error? in
        do {
            try body()
            return nil
        } catch { return error }
    }
    #expect(leaked.isEmpty, "fds left open: \(leaked)", sourceLocation: sourceLocation)
    guard let caught else {
        Issue.record("expected a \(E.self), but nothing was refused", sourceLocation: sourceLocation)
        return nil
    }
    guard let typed = caught as? E else {
        Issue.record("expected a \(E.self), got \(caught)", sourceLocation: sourceLocation)
        return nil
    }
    #expect(!String(describing: typed).isEmpty, sourceLocation: sourceLocation)
    return typed
}

/// A path the test knows is canonical.
func canonical(_ text: String) -> CanonicalPath { try! CanonicalPath(validating: text) }
func canonical(_ bytes: [UInt8]) -> CanonicalPath { try! CanonicalPath(validating: bytes) }

/// The whole content of an opened regular file, read from offset 0 (pread: the fd's offset stays).
func contents(of descriptor: FileDescriptor) throws -> String {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = try buffer.withUnsafeMutableBytes { try descriptor.read(fromAbsoluteOffset: 0, into: $0) }
    return String(decoding: buffer.prefix(count), as: UTF8.self)
}
