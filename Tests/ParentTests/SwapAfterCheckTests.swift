import Foundation
import Testing
import TestSupport

/// A path the parent checked at configuration time and then acted on as root: whatever is
/// swapped in between must not change what it acts on. The swap is made by a stand-in
/// bulkhead-block (a shell script that swaps, then execs the real helper): the parent starts
/// the helpers and waits for their handshake after every check and before it opens the console
/// or starts the worker, so the swap lands exactly in between, every time.
@Suite(.serialized) struct SwapAfterCheckTests {
    /// A fresh root-owned directory (mode 0755) for one test.
    static func scratch(_ name: String) throws -> String {
        let base = "/tmp/bulkhead-swap-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        return base
    }

    /// `directory` as a --helpers DIR: the real worker, net and exec helpers, and a
    /// bulkhead-block that runs `swap` (sh) and then execs the real block helper.
    static func helpers(in directory: String, swapping swap: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        for program in ["bulkhead-worker", "bulkhead-net", "bulkhead-exec"] {
            try FileManager.default.createSymbolicLink(
                atPath: "\(directory)/\(program)", withDestinationPath: ParentRun.directory.appendingPathComponent(program).path)
        }
        let block = ParentRun.directory.appendingPathComponent("bulkhead-block").path
        try Self.write("\(directory)/bulkhead-block", "#!/bin/sh\n\(swap)\nexec '\(block)' \"$@\"\n", mode: 0o755)
        return directory
    }

    /// Through an O_CLOEXEC fd (FixtureFile): a child another suite spawns meanwhile must not
    /// keep a script written here open for writing (its exec would fail with ETXTBSY).
    static func write(_ path: String, _ text: String, mode: Int) throws {
        try FixtureFile.write(path, text: text, mode: mode_t(mode))
    }

    @Test func aHelpersLinkSwappedAfterTheCheckStillRunsTheCheckedWorker() throws {
        // --helpers BASE/pub/link, with pub writable by anyone (not sticky) and link -> BASE/real:
        // the check sees only the real path, whose every component is root's. The stand-in
        // block helper points the link at BASE/evil (as any user could) before the worker starts.
        let base = try Self.scratch("exec")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let marker = "\(base)/evil-worker-ran"
        _ = try Self.helpers(
            in: "\(base)/real", swapping: "ln -s '\(base)/evil' '\(base)/pub/next' && mv -T '\(base)/pub/next' '\(base)/pub/link'")
        try FileManager.default.createDirectory(atPath: "\(base)/evil", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try Self.write("\(base)/evil/bulkhead-worker", "#!/bin/sh\n: > '\(marker)'\n", mode: 0o755)
        try FileManager.default.createDirectory(atPath: "\(base)/pub", withIntermediateDirectories: false)
        #expect(chmod("\(base)/pub", 0o777) == 0)
        try FileManager.default.createSymbolicLink(atPath: "\(base)/pub/link", withDestinationPath: "\(base)/real")

        let run = try ParentRun.run(["run", "--helpers", "\(base)/pub/link", "--disk", HelperSupervisionTests.disk(), "--cmdline", "banner poweroff"])
        // The test of the test: the swap did happen, between the check and the worker's start.
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(base)/pub/link")) == "\(base)/evil")
        #expect(!FileManager.default.fileExists(atPath: marker), "the swapped-in program ran as the worker")
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("bulkhead test guest: 1 vcpu"), "\(run.output)")
        #expect(run.survivors.isEmpty)
    }

    @Test func aConsoleDirectorySwappedForALinkAfterTheCheckIsNotFollowed() throws {
        // --console BASE/logs/console.txt is checked while logs is a directory; then the stand-in
        // block helper renames it and puts a link to BASE/elsewhere in its place. Opening the
        // console by name would create BASE/elsewhere/console.txt as root.
        let base = try Self.scratch("console")
        defer { try? FileManager.default.removeItem(atPath: base) }
        for directory in ["logs", "elsewhere"] {
            try FileManager.default.createDirectory(atPath: "\(base)/\(directory)", withIntermediateDirectories: false)
        }
        let helpers = try Self.helpers(
            in: "\(base)/helpers", swapping: "mv '\(base)/logs' '\(base)/logs.old' && ln -s '\(base)/elsewhere' '\(base)/logs'")

        let console = "\(base)/logs/console.txt"
        let run = try ParentRun.run(["run", "--helpers", helpers, "--disk", HelperSupervisionTests.disk(), "--console", console])
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(base)/logs")) == "\(base)/elsewhere")
        #expect(!FileManager.default.fileExists(atPath: "\(base)/elsewhere/console.txt"), "the console was created through the link")
        #expect(run.status == 71, "\(run.errors)")
        #expect(run.errors.contains("--console \(console): \"\(base)/logs\" is not a directory (a symbolic link is never followed)"), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }

    @Test func aConsoleFileSwappedForADeviceAfterTheCheckIsRefused() throws {
        // A regular file at the check; then a character device (/dev/null's numbers, not a
        // terminal) in its place. Opened by name it would be accepted and written to.
        guard geteuid() == 0 else { return }  // mknod of a character device needs CAP_MKNOD
        let base = try Self.scratch("console-device")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let console = "\(base)/console.txt"
        try Self.write(console, "", mode: 0o644)
        let helpers = try Self.helpers(in: "\(base)/helpers", swapping: "rm '\(console)' && mknod '\(console)' c 1 3")

        let run = try ParentRun.run(["run", "--helpers", helpers, "--disk", HelperSupervisionTests.disk(), "--console", console])
        #expect(run.status == 71, "\(run.errors)")
        #expect(run.errors.contains("--console \(console): is a character device, not a regular file or a terminal"), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }
}
