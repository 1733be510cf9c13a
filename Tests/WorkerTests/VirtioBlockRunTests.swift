import Foundation
import Testing
import TestSupport

/// virtio-blk through the real worker: its io thread under the `io` filter serves the test
/// guest's polling driver from a disk fd passed in (as the block helper will pass it).
@Suite struct VirtioBlockRunTests {
    /// A random file of `bytes` in /tmp, removed at deinit.
    final class RandomDisk {
        let path: String
        init(bytes: Int) throws {
            path = "/tmp/bulkhead-vblk-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            var generator = SystemRandomNumberGenerator()
            var data = Data(count: bytes)
            data.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for i in words.indices { words[i] = generator.next() }
            }
            try FixtureFile.write(path, data)
        }
        func contents() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
        func sha256sum() throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            p.arguments = [path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return String(text.prefix(64))
        }
        /// An fd for the worker, opened the way the block helper opens a disk; numbered above
        /// 100 so WorkerRun's dup2 onto 5, 6, … never overwrites another fd it still passes.
        func open(readOnly: Bool) -> Int32 {
            let fd = Glibc.open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
            defer { close(fd) }
            return fcntl(fd, F_DUPFD_CLOEXEC, 100)
        }
        deinit { unlink(path) }
    }

    /// Byte i of what blk-write puts in the first MiB (Guest/virtio.c, `pattern`).
    static func pattern(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i &* 7 &+ (i >> 10)) }

    @Test func guestReadsA64MiBDiskWhoseSha256MatchesSha256sum() throws {
        let disk = try RandomDisk(bytes: 64 << 20)
        let fd = disk.open(readOnly: true)
        defer { close(fd) }
        let run = try WorkerRun.run(["--disk-fd", "5", "--cmdline", "blk-sha256=0"], passing: [5: fd])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines == ["blk 0 sha256 \(try disk.sha256sum())"])
    }

    @Test func guestWriteChangesTheHostFileWithThePattern() throws {
        let disk = try RandomDisk(bytes: 4 << 20)
        let before = try disk.contents()
        let fd = disk.open(readOnly: false)
        defer { close(fd) }
        let run = try WorkerRun.run(["--disk-fd", "5", "--cmdline", "blk-write=0"], passing: [5: fd])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines == ["blk 0 write 1048576 bytes: status 0, flush status 0"])
        let after = try disk.contents()
        #expect(after.prefix(1 << 20).elementsEqual((0..<(1 << 20)).map(Self.pattern)))
        #expect(after.suffix(from: 1 << 20) == before.suffix(from: 1 << 20))
    }

    @Test(arguments: [true, false])
    func readOnlyDiskRefusesTheGuestWriteWithIOErrAndTheFileIsUnchanged(readOnlyFD: Bool) throws {
        // `,readonly` on a read-write fd is refused by the device; a read-only fd is refused
        // by the device too (it offers VIRTIO_BLK_F_RO whenever the fd is O_RDONLY).
        let disk = try RandomDisk(bytes: 4 << 20)
        let before = try disk.contents()
        let fd = disk.open(readOnly: readOnlyFD)
        defer { close(fd) }
        let run = try WorkerRun.run(["--disk-fd", readOnlyFD ? "5" : "5,readonly", "--cmdline", "blk-write=0"], passing: [5: fd])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines == ["blk 0 (read-only) write 1048576 bytes: status 1, flush status 0"])
        #expect(try disk.contents() == before)
    }

    @Test func guestReadsSequentiallyAndPrintsTheRate() throws {
        let disk = try RandomDisk(bytes: 16 << 20)
        let fd = disk.open(readOnly: true)
        defer { close(fd) }
        let run = try WorkerRun.run(["--disk-fd", "5", "--cmdline", "blk-read=0,64"], passing: [5: fd])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines.count == 1)
        #expect(run.lines.first?.hasPrefix("blk 0 read 64 MiB in ") == true)
        #expect(run.lines.first?.hasSuffix(" MB/s") == true)
    }

    @Test func secondDiskIsDeviceOne() throws {
        let first = try RandomDisk(bytes: 1 << 20), second = try RandomDisk(bytes: 2 << 20)
        let a = first.open(readOnly: true), b = second.open(readOnly: true)
        defer { close(a); close(b) }
        let run = try WorkerRun.run(["--disk-fd", "5", "--disk-fd", "6", "--cmdline", "blk-sha256=1 blk-sha256=0"], passing: [5: a, 6: b])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines == ["blk 1 sha256 \(try second.sha256sum())", "blk 0 sha256 \(try first.sha256sum())"])
    }

    @Test func missingDiskIsAGuestErrorAndEscapeProbeExcludesDisks() throws {
        let run = try WorkerRun.run(["--cmdline", "blk-sha256=0"])
        #expect(run.ending == .exited(1))
        #expect(run.lines == ["error: no such virtio-blk disk '0'"])
        let refused = try WorkerRun.run(["--device", "escape-probe", "--disk-fd", "0"])
        #expect(refused.ending == .exited(64))
    }

    @Test func hostileChainsFromTheGuestSetNeedsResetAndTheDeviceRecoversAfterAReset() throws {
        let disk = try RandomDisk(bytes: 1 << 20)
        let fd = disk.open(readOnly: false)
        defer { close(fd) }
        let before = try disk.contents()
        let kinds = ["outside", "loop", "jump", "indirect"]
        let run = try WorkerRun.run(
            ["--disk-fd", "5", "--cmdline", kinds.map { "blk-hostile=0,\($0)" }.joined(separator: " ") + " blk-sha256=0"],
            passing: [5: fd])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines == kinds.map { "blk 0 hostile \($0): device status 79 (DEVICE_NEEDS_RESET), after reset a read gets status 0" }
            + ["blk 0 sha256 \(try disk.sha256sum())"])
        #expect(try disk.contents() == before)
    }
}
