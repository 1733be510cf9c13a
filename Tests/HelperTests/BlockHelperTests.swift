import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import Testing

/// `bulkhead-block` through its socket: declared files come back as fds with the declared
/// access; every path trick is refused with a reason, hands out no fd, and the helper goes on.
@Suite struct BlockHelperTests {
    func start(_ fixture: BlockFixture) throws -> RunningHelper {
        let helper = try RunningHelper("bulkhead-block", fixture.declarations)
        #expect(try helper.hello() == "bulkhead-block")
        return helper
    }

    @Test func declaredReadOnlyFileComesBackAsAnORDONLYFdWithItsContent() throws {
        let fixture = try BlockFixture()
        let helper = try start(fixture)
        let response = try helper.client!.call(BlockOpenRequest(path: fixture.path("disk.img"), access: .readOnly))
        let fd = try #require(response.fds.first)
        defer { try? fd.close() }
        #expect(response.reply == BlockOpenReply(size: 14, access: .readOnly, kind: .file))
        #expect(accessMode(of: fd) == O_RDONLY)
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = try buffer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }
        #expect(String(decoding: buffer.prefix(count), as: UTF8.self) == "disk contents\n")
        #expect(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func declaredReadWriteFileComesBackAsAnORDWRFdThatWrites() throws {
        let fixture = try BlockFixture()
        let helper = try start(fixture)
        let response = try helper.client!.call(BlockOpenRequest(path: fixture.path("spare.img"), access: .readWrite))
        let fd = try #require(response.fds.first)
        defer { try? fd.close() }
        #expect(response.reply == BlockOpenReply(size: 6, access: .readWrite, kind: .file))
        #expect(accessMode(of: fd) == O_RDWR)
        _ = try Array("SPARE".utf8).withUnsafeBytes { try fd.write(toAbsoluteOffset: 0, $0) }
        #expect(try fixture.read("spare.img") == "SPARE\n")
    }

    @Test func readWriteDeclarationAskedReadOnlyGivesAnORDONLYFd() throws {
        let fixture = try BlockFixture()
        let helper = try start(fixture)
        let response = try helper.client!.call(BlockOpenRequest(path: fixture.path("spare.img"), access: .readOnly))
        let fd = try #require(response.fds.first)
        defer { try? fd.close() }
        #expect(accessMode(of: fd) == O_RDONLY)
    }

    /// Besides its socket the helper holds one O_PATH fd per directory of a declared file
    /// (the fixture's root for disk.img and spare.img, and sub/), opened by its start-up walk.
    @Test func theHelperHoldsItsSocketAndOneFdPerDeclaredDirectory() throws {
        let fixture = try BlockFixture()
        let helper = try start(fixture)
        let fds = try helper.openFDs()
        #expect(Array(fds.prefix(4)) == [0, 1, 2, 3])
        let held = try fds.dropFirst(4).map { try helper.fdTarget($0) }
        #expect(held.sorted() == [fixture.root, fixture.path("sub")], "\(held)")
    }

    /// A middle component renamed, replaced by another directory or by a link after start-up
    /// redirects nothing: the open goes through the directory held since the start-up walk,
    /// so the declared file comes back (never the look-alike put in its place).
    @Test(arguments: [true, false])
    func aMiddleComponentSwappedAfterStartUpIsNotFollowed(bySymlink: Bool) throws {
        let fixture = try BlockFixture()
        let helper = try start(fixture)
        try fixture.rename("sub", "sub-moved")
        try fixture.directory("look-alike")
        try fixture.write("look-alike/nested.img", "a look-alike\n")
        if bySymlink {
            try fixture.symlink("sub", to: fixture.path("look-alike"))
        } else {
            try fixture.rename("look-alike", "sub")
        }
        let response = try helper.client!.call(BlockOpenRequest(path: fixture.bytes("sub/nested.img"), access: .readOnly))
        let fd = try #require(response.fds.first)
        defer { try? fd.close() }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = try buffer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }
        #expect(String(decoding: buffer.prefix(count), as: UTF8.self) == "nested\n")
        // The last component is still checked in the held directory.
        try fixture.write("sub-moved/new.img", "nested\n")
        try fixture.rename("sub-moved/new.img", "sub-moved/nested.img")
        #expect(throws: (any Error).self) {
            let again = try helper.client!.call(BlockOpenRequest(path: fixture.bytes("sub/nested.img"), access: .readOnly))
            again.fds.forEach { try? $0.close() }
        }
    }

    /// One trick: `prepare` changes the world after the helper declared its files and
    /// returns the path to ask for; the refusal must contain `reason`.
    struct PathTrick: Sendable, CustomTestStringConvertible {
        let name: String
        var access: BlockAccess = .readOnly
        let reason: String
        let prepare: @Sendable (BlockFixture) throws -> [UInt8]
        var testDescription: String { name }
    }

    static let tricks: [PathTrick] = [
        PathTrick(name: "a .. segment", reason: "parent references are never accepted") {
            $0.bytes("sub/../disk.img")
        },
        PathTrick(name: "a relative path", reason: "the path is relative") { _ in Array("disk.img".utf8) },
        PathTrick(name: "the declared path without its leading slash", reason: "the path is relative") {
            Array($0.bytes("disk.img").dropFirst())
        },
        PathTrick(name: "a trailing slash", reason: "ends with a slash") { $0.bytes("disk.img/") },
        PathTrick(name: "a double slash", reason: "double slash") { $0.bytes("/disk.img") },
        PathTrick(name: "a . segment", reason: "component") { $0.bytes("./disk.img") },
        PathTrick(name: "a symlink swapped in as the last component after declaration", reason: "is a symbolic link; links are never followed") {
            try $0.remove("disk.img")
            try $0.symlink("disk.img", to: $0.path("secret"))
            return $0.bytes("disk.img")
        },
        PathTrick(name: "an undeclared symlink to a declared file", reason: "not a declared path") {
            try $0.symlink("alias.img", to: $0.path("disk.img"))
            return $0.bytes("alias.img")
        },
        PathTrick(name: "/proc/self/fd/N", reason: "not a declared path") { _ in Array("/proc/self/fd/3".utf8) },
        PathTrick(name: "/proc/self/root in front of a declared path", reason: "not a declared path") {
            Array("/proc/self/root".utf8) + $0.bytes("disk.img")
        },
        PathTrick(name: "a hard link to an undeclared file", reason: "not a declared path") {
            try $0.hardLink("hard.img", to: "secret")
            return $0.bytes("hard.img")
        },
        PathTrick(name: "the declared name re-linked to an undeclared file after declaration", reason: "no longer the declared file") {
            try $0.hardLink("tmp", to: "secret")
            try $0.rename("tmp", "disk.img")
            return $0.bytes("disk.img")
        },
        PathTrick(name: "the declared file replaced between declaration and open", reason: "no longer the declared file") {
            try $0.write("new.img", "disk contents\n")
            try $0.rename("new.img", "disk.img")
            return $0.bytes("disk.img")
        },
        PathTrick(name: "a FIFO swapped in (would block)", reason: "no longer the declared file") {
            try $0.remove("disk.img")
            try $0.fifo("disk.img")
            return $0.bytes("disk.img")
        },
        PathTrick(name: "a directory swapped in", reason: "no longer the declared file") {
            try $0.remove("disk.img")
            try $0.directory("disk.img")
            return $0.bytes("disk.img")
        },
        PathTrick(name: "an undeclared directory", reason: "not a declared path") { $0.bytes("sub") },
        PathTrick(name: "the /dev/null character device", reason: "not a declared path") { _ in Array("/dev/null".utf8) },
        PathTrick(name: "a read-only declaration asked read-write", access: .readWrite, reason: "it is declared read-only") {
            $0.bytes("disk.img")
        },
        PathTrick(name: "a NUL byte after the declared path", reason: "contains a NUL byte") { $0.bytes("disk.img") + [0] + Array("x".utf8) },
        PathTrick(name: "a NUL byte inside the path", reason: "contains a NUL byte") { $0.bytes("disk") + [0] + Array(".img".utf8) },
        PathTrick(name: "an overlong path (4096 bytes)", reason: "4096 bytes long; the limit is 4095") {
            _ in [UInt8(ascii: "/")] + [UInt8](repeating: UInt8(ascii: "a"), count: 4095)
        },
        PathTrick(name: "an overlong component (256 bytes)", reason: "256 bytes long; the limit is 255") {
            $0.bytes(String(repeating: "a", count: 256))
        },
        PathTrick(name: "non-UTF-8 bytes", reason: "\\xFF") { $0.bytes("disk") + [0xFF] + Array(".img".utf8) },
        PathTrick(name: "a declared file's name in another directory", reason: "not a declared path") {
            try $0.directory("other")
            try $0.write("other/disk.img", "disk contents\n")
            return $0.bytes("other/disk.img")
        },
        PathTrick(name: "the declared path in another case", reason: "not a declared path") { $0.bytes("DISK.IMG") },
        PathTrick(name: "an empty path", reason: "the path is empty") { _ in [] },
        PathTrick(name: "the root directory", reason: "names the root directory") { _ in Array("/".utf8) },
        PathTrick(name: "an undeclared file beside the declared ones", reason: "not a declared path") { $0.bytes("secret") },
    ]

    @Test(arguments: tricks)
    func blockHelperRefusesPathTrickWithAReasonAndKeepsServing(_ trick: PathTrick) throws {
        let fixture = try BlockFixture()
        let helper = try start(fixture)
        let heldAtStart = try helper.openFDs()
        let path = try trick.prepare(fixture)
        do {
            let response = try helper.client!.call(BlockOpenRequest(path: path, access: trick.access))
            response.fds.forEach { try? $0.close() }
            Issue.record("\(trick.name): an fd was handed out (\(response.reply))")
        } catch {
            // An error reply carries no fd (RequestClient throws .unexpectedFDs for one that does).
            let reason = try #require(refusal(error), "\(trick.name): \(error)")
            #expect(reason.contains(trick.reason), "\(trick.name): \(reason)")
        }
        // Still serving: the untouched read-write declaration opens.
        let next = try helper.client!.call(BlockOpenRequest(path: fixture.path("spare.img"), access: .readWrite))
        #expect(next.fds.count == 1)
        #expect(next.fds.first.map(accessMode) == O_RDWR)
        next.fds.forEach { try? $0.close() }
        // The helper closes its copy of a sent fd after sendmsg; one more round trip orders that.
        _ = try helper.hello()
        #expect(try helper.openFDs() == heldAtStart, "no fd left behind in the helper")
    }

    @Test(arguments: [
        (["--file", "ro:/nonexistent-bulkhead/disk.img"], "/nonexistent-bulkhead"),
        (["--file", "xx:/etc/hostname"], "--file \"xx:/etc/hostname\": expected ro:/absolute/path"),
        (["--file", "/etc/hostname"], "--file \"/etc/hostname\": expected ro:/absolute/path"),
        (["--file", "ro:/dev/null"], "\"/dev/null\": it is a character device"),
        (["--file", "ro:etc/hostname"], "\"etc/hostname\": the path is relative"),
        (["--file", "ro:/etc/hostname", "--file", "rw:/etc/hostname"], "\"/etc/hostname\": the path is declared twice"),
    ])
    func badFileDeclarationExits64NamingTheItem(arguments: [String], named: String) throws {
        let (ours, theirs) = try SeqPacketSocket.pair()
        defer { theirs.close() }
        let helper = try RunningHelper(
            "bulkhead-block", ["--socket-fd", "3"] + arguments, fd3: theirs.fileDescriptor.rawValue, socket: ours)
        #expect(helper.exitStatus() == 64)
        #expect(helper.log.contains(named), "\(helper.log)")
    }

    @Test func pathThatIsNotUTF8IsDeclaredAndOpenedByteForByte() throws {
        let fixture = try BlockFixture()
        let name = Array("disk".utf8) + [0xFF, 0xFE] + Array(".img".utf8)
        let path = Array(fixture.root.utf8) + [UInt8(ascii: "/")] + name
        let made = (path + [0]).withUnsafeBufferPointer {
            open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        try #require(made >= 0)
        close(made)
        let (ours, theirs) = try SeqPacketSocket.pair()
        defer { theirs.close() }
        let helper = try RunningHelper(
            "bulkhead-block", bytes: [Array("--socket-fd".utf8), Array("3".utf8), Array("--file".utf8), Array("ro:".utf8) + path],
            fd3: theirs.fileDescriptor.rawValue, socket: ours)
        try ours.setReceiveTimeout(microseconds: 20_000_000)
        let response = try helper.client!.call(BlockOpenRequest(path: path, access: .readOnly))
        #expect(response.fds.count == 1)
        response.fds.forEach { try? $0.close() }
        // The same name with the invalid bytes replaced (what a lossy String would give) is not it.
        let lossy = Array(String(decoding: path, as: UTF8.self).utf8)
        #expect {
            _ = try helper.client!.call(BlockOpenRequest(path: lossy, access: .readOnly))
        } throws: { error in
            refusal(error)?.contains("not a declared path") == true
        }
    }

    @Test func declaredSymlinkIsRefusedAtStartUp() throws {
        let fixture = try BlockFixture()
        try fixture.symlink("link.img", to: fixture.path("disk.img"))
        let (ours, theirs) = try SeqPacketSocket.pair()
        defer { theirs.close() }
        let helper = try RunningHelper(
            "bulkhead-block", ["--socket-fd", "3", "--file", "ro:" + fixture.path("link.img")],
            fd3: theirs.fileDescriptor.rawValue, socket: ours)
        #expect(helper.exitStatus() == 64)
        #expect(helper.log.contains("link.img\": it is a symbolic link"), "\(helper.log)")
    }
}
