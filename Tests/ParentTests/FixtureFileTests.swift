import Foundation
import Glibc
import Testing
import TestSupport

/// Why every fixture writes through FixtureFile: all suites share one test process, and a
/// child one suite spawns gets every descriptor another suite holds without close-on-exec
/// at that moment (posix_spawn, as RunningHelper and WorkerRun use it, closes nothing). A
/// write descriptor that survives in a child closes when the child ends: that was the write
/// event BadConfigurationTests saw in its watched fixture directory during a full run.
@Suite struct FixtureFileTests {
    @Test func aChildSpawnedWhileAFixtureFileIsBeingWrittenDoesNotGetIt() throws {
        let path = "/tmp/bulkhead-fixturefile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let inherited = try FixtureFile.whileCreating(path) { _ in try Self.pathsOpenInAChild() }
        #expect(!inherited.contains(path), "\(inherited)")
        // The same spawn does hand on a descriptor without O_CLOEXEC (what Foundation's
        // createFile, copyItem and write(toFile:) open): the listing sees what it must.
        let plain = open(path, O_RDONLY)
        try #require(plain >= 0)
        defer { close(plain) }
        #expect(try Self.pathsOpenInAChild().contains(path))
    }

    /// What `ls -l /proc/self/fd` lists in a child started now with posix_spawn and no
    /// file actions but its stdout.
    static func pathsOpenInAChild() throws -> [String] {
        let listing = "/tmp/bulkhead-fixturefile-listing-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let out = open(listing, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw FixtureFailure("cannot create \(listing): errno \(errno)") }
        defer { close(out); unlink(listing) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, out, 1)
        let words: [String] = ["/bin/ls", "-l", "/proc/self/fd"]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, "/bin/ls", &actions, nil, argv, environ)
        guard result == 0 else { throw FixtureFailure("posix_spawn /bin/ls: \(result)") }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw FixtureFailure("ls -l /proc/self/fd: status \(status)") }
        let text = try String(contentsOfFile: listing, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in line.range(of: " -> ").map { String(line[$0.upperBound...]) } }
    }
}
