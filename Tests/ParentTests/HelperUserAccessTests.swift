import Foundation
import Testing
import TestSupport

/// As root, the block helper runs as the `--user` account with no capability: `bulkhead run`
/// and `check` refuse (exit 65), before anything starts, a declared file that account cannot
/// open as declared by owner, group and mode, and say what is missing and how to fix it.
@Suite(.serialized) struct HelperUserAccessTests {
    /// A fresh directory in /tmp (mode `mode`, owner root) for one test; removed by the caller.
    static func directory(mode: mode_t) throws -> String {
        let path = "/tmp/bulkhead-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        chmod(path, mode)
        return path
    }

    static var account: (uid: uid_t, gid: gid_t) {
        get throws { try #require(HelperUserFiles.account, "no \(HelperUserFiles.user) account (make deps creates it)") }
    }

    static func registered(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: "/run/bulkhead/\(name)")
    }

    @Test func aDiskInADirectoryTheUserCannotSearchIsRefusedWith65AndNothingStarts() throws {
        try #require(geteuid() == 0, "needs root: only then do the helpers change uid")
        let account = try Self.account
        let directory = try Self.directory(mode: 0o700)  // what mkdtemp makes
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let disk = try HelperUserFiles.create(directory + "/disk.img", contents: Data(count: 4096))  // the file itself is the user's
        let name = "access-\(getpid())"
        // A block helper that leaves a mark if it is ever started.
        let marker = directory + "-started"
        let helpers = try HelperStartupTests.fakeHelpers(blockScript: "touch \(marker); exec sleep 30")
        defer { try? FileManager.default.removeItem(atPath: helpers) }
        let run = try ParentRun.run(["run", "--helpers", helpers, "--name", name, "--disk", disk, "--cmdline", "poweroff"])
        #expect(run.status == 65, "\(run.errors)")
        #expect(run.errors.contains("--disk \(disk): the block helper runs as bulkhead (uid \(account.uid), gid \(account.gid)"), "\(run.errors)")
        #expect(run.errors.contains("lacks search permission on directory \(directory) (mode 0700, owner root"), "\(run.errors)")
        #expect(run.errors.contains("fix: chgrp bulkhead \(directory) && chmod g+x \(directory) (or chmod o+x \(directory))"), "\(run.errors)")
        #expect(run.errors.contains("--user"), "\(run.errors)")
        #expect(run.output.isEmpty, "the guest never ran")
        #expect(run.survivors.isEmpty)
        #expect(!Self.registered(name), "the refusal comes before the VM is registered")
        #expect(!FileManager.default.fileExists(atPath: marker), "the block helper was started")
        // `check` refuses the same, and both accept it once the directory is searchable.
        let check = try ParentRun.run(["check", "--disk", disk])
        #expect(check.status == 65 && check.errors == run.errors, "\(check.errors)")
        chmod(directory, 0o711)
        let accepted = try ParentRun.run(["run", "--disk", disk, "--cmdline", "blk-write=0 poweroff"])
        #expect(accepted.status == 0, "\(accepted.errors)")
        #expect(accepted.lines.contains("blk 0 write 4096 bytes: status 0, flush status 0"), "\(accepted.output)")
    }

    @Test func aDiskReadableButNotWritableByTheUserIsRefusedReadWriteAndServedReadOnly() throws {
        try #require(geteuid() == 0, "needs root: only then do the helpers change uid")
        let account = try Self.account
        let disk = "/tmp/bulkhead-access-ro-\(getpid()).img"
        try FixtureFile.write(disk, Data(repeating: 0x5A, count: 4096))
        defer { unlink(disk) }
        // Owner root, group the helper's: the group may read, not write.
        #expect(chown(disk, 0, account.gid) == 0 && chmod(disk, 0o640) == 0)
        let refused = try ParentRun.run(["run", "--disk", disk, "--cmdline", "poweroff"])
        #expect(refused.status == 65, "\(refused.errors)")
        #expect(refused.errors.contains("--disk \(disk): the block helper runs as bulkhead"), "\(refused.errors)")
        #expect(refused.errors.contains("lacks write permission on the file (mode 0640, owner root, group bulkhead; read-write needs read and write)"), "\(refused.errors)")
        #expect(refused.errors.contains("fix: chmod g+rw \(disk), declare it ,readonly, or run with --user"), "\(refused.errors)")
        #expect(refused.output.isEmpty)
        #expect(refused.survivors.isEmpty)
        let served = try ParentRun.run(["run", "--disk", "\(disk),readonly", "--cmdline", "blk-sha256=0 poweroff"])
        #expect(served.status == 0, "\(served.errors)")
        #expect(served.lines.contains("blk 0 sha256 \(DeviceBackendTests.sha256(disk))"), "\(served.output)")
        #expect(served.survivors.isEmpty)
    }

    @Test func theCheckIsForTheAccountNamedByUser() throws {
        try #require(geteuid() == 0, "needs root: only then do the helpers change uid")
        let disk = try HelperUserFiles.create("/tmp/bulkhead-access-user-\(getpid()).img", contents: Data(count: 4096))
        defer { unlink(disk) }
        #expect(try ParentRun.run(["check", "--disk", disk]).status == 0)
        let other = try ParentRun.run(["check", "--user", "nobody", "--disk", disk])
        #expect(other.status == 65, "\(other.errors)")
        #expect(other.errors.contains("runs as nobody (uid 65534") && other.errors.contains("lacks read and write permission"), "\(other.errors)")
        let missing = try ParentRun.run(["check", "--user", "bh-no-such-user", "--disk", disk])
        #expect(missing.status == 65 && missing.errors.contains("--user bh-no-such-user: no such user"), "\(missing.errors)")
    }

    @Test func theKernelAndInitrdAreCheckedForReadingAndAConnectedBlockServiceIsNot() throws {
        try #require(geteuid() == 0, "needs root: only then do the helpers change uid")
        let directory = try Self.directory(mode: 0o755)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kernel = directory + "/vmlinux", initrd = directory + "/initrd"
        try FixtureFile.write(kernel, Data(count: 4096), mode: 0o644)
        try FixtureFile.write(initrd, Data(count: 4096), mode: 0o600)
        let refused = try ParentRun.run(["check", "--kernel", kernel, "--initrd", initrd])
        #expect(refused.status == 65, "\(refused.errors)")
        #expect(refused.errors.contains("--initrd \(initrd): the block helper runs as bulkhead"), "\(refused.errors)")
        #expect(refused.errors.contains("lacks read permission on the file (mode 0600, owner root, group root; read-only needs read)"), "\(refused.errors)")
        chmod(initrd, 0o644)
        #expect(try ParentRun.run(["check", "--kernel", kernel, "--initrd", initrd]).status == 0)
        chmod(kernel, 0o640)
        let kernelRefused = try ParentRun.run(["check", "--kernel", kernel, "--initrd", initrd])
        #expect(kernelRefused.status == 65 && kernelRefused.errors.contains("--kernel \(kernel): "), "\(kernelRefused.errors)")
        // A service's own account opens the files then (README "Deployment"): nothing to check here.
        // (--connect must name a socket; `check` never connects, so a bare socket inode will do.)
        let service = directory + "/block.sock"
        #expect(mknod(service, S_IFSOCK | 0o600, 0) == 0)
        let connected = try ParentRun.run(["check", "--connect", "block=\(service)", "--kernel", kernel])
        #expect(connected.status == 0, "\(connected.errors)")
    }

    /// ACLs are not evaluated: a file open to the account only through an ACL is refused, and
    /// the message says why and what to do instead.
    @Test func anACLIsNotEvaluatedAndTheRefusalSaysSo() throws {
        try #require(geteuid() == 0, "needs root: only then do the helpers change uid")
        let account = try Self.account
        let disk = "/tmp/bulkhead-access-acl-\(getpid()).img"
        try FixtureFile.write(disk, Data(count: 4096), mode: 0o600)
        defer { unlink(disk) }
        // system.posix_acl_access: version 2; user::rw- user:ACCOUNT:rw- group::--- mask::rw- other::---
        // (written raw: no setfacl on this machine).
        let script = """
            import os, struct, sys
            entries = [(1, 6, 0xFFFFFFFF), (2, 6, int(sys.argv[2])), (4, 0, 0xFFFFFFFF), (0x10, 6, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF)]
            os.setxattr(sys.argv[1], "system.posix_acl_access", struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries))
            """
        let setter = Process()
        setter.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        setter.arguments = ["-c", script, disk, "\(account.uid)"]
        try setter.run()
        setter.waitUntilExit()
        try #require(setter.terminationStatus == 0, "this filesystem takes no POSIX ACL")
        let run = try ParentRun.run(["check", "--disk", disk])
        #expect(run.status == 65, "\(run.errors)")
        #expect(run.errors.contains("\(disk) carries a POSIX ACL, which this check does not evaluate"), "\(run.errors)")
    }
}
