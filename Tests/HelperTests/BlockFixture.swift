import Foundation
import Glibc
import TestSupport

/// A fresh directory for one block test, removed afterwards:
///   disk.img        declared ro   ("disk contents\n")
///   spare.img       declared rw   ("spare\n")
///   sub/nested.img  declared ro   ("nested\n")
///   secret          not declared  ("secret\n")
final class BlockFixture {
    let root: String

    init() throws {
        var template = Array("/tmp/bh-helper-block-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SpawnError("mkdtemp: errno \(errno)") }
        root = String(cString: made)
        try write("disk.img", "disk contents\n")
        try write("spare.img", "spare\n")
        try FileManager.default.createDirectory(atPath: path("sub"), withIntermediateDirectories: false)
        try write("sub/nested.img", "nested\n")
        try write("secret", "secret\n")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// The helper's declarations for this fixture.
    var declarations: [String] {
        ["--file", "ro:" + path("disk.img"), "--file", "rw:" + path("spare.img"), "--file", "ro:" + path("sub/nested.img")]
    }

    func path(_ relative: String) -> String { root + "/" + relative }
    func bytes(_ relative: String) -> [UInt8] { Array(path(relative).utf8) }

    /// Through an O_CLOEXEC fd (FixtureFile): no child another suite spawns keeps it open.
    func write(_ relative: String, _ contents: String) throws { try FixtureFile.write(path(relative), text: contents) }

    func read(_ relative: String) throws -> String { try String(contentsOfFile: path(relative), encoding: .utf8) }

    func check(_ result: Int32, _ what: String) throws {
        guard result == 0 else { throw SpawnError("\(what): errno \(errno)") }
    }

    func symlink(_ relative: String, to target: String) throws { try check(Glibc.symlink(target, path(relative)), "symlink") }
    func hardLink(_ relative: String, to existing: String) throws { try check(link(path(existing), path(relative)), "link") }
    func rename(_ from: String, _ to: String) throws { try check(Glibc.rename(path(from), path(to)), "rename") }
    func remove(_ relative: String) throws { try check(unlink(path(relative)), "unlink") }
    func fifo(_ relative: String) throws { try check(mkfifo(path(relative), 0o600), "mkfifo") }
    func directory(_ relative: String) throws { try check(mkdir(path(relative), 0o700), "mkdir") }
}
