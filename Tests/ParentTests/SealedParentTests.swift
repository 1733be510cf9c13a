import Foundation
import Testing

/// What the parent really holds once it has sealed, read from /proc while the guest runs.
@Suite struct SealedParentTests {
    @Test func sealedParentHasNoCapabilitiesNoNewPrivilegesAndItsFilter() throws {
        let running = try ParentRun.Running(["run", "--cmdline", "sleep=1500 poweroff"])
        let deadline = Date().addingTimeInterval(10)
        var status = ""
        // Sealing comes right after the worker starts; wait until the filter is in.
        while Date() < deadline {
            status = (try? String(contentsOfFile: "/proc/\(running.pid)/status", encoding: .utf8)) ?? ""
            if status.contains("Seccomp:\t2") { break }
            usleep(10_000)
        }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(running.pid)/fd")) ?? []
        let targets = fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(running.pid)/fd/\($0)") }
        let run = running.finish()
        #expect(run.status == 0, "\(run.errors)")
        // As root the children run under other uids (README: Security model). With a cgroup v2
        // hierarchy (this host: /sys/fs/cgroup/unified) the parent ends them through the VM's
        // cgroup.kill and keeps nothing; without one CAP_KILL (bit 5) is the one it keeps.
        let mountInfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        let hasV2 = mountInfo.contains(" - cgroup2 ")
        let kept = geteuid() == 0 && !hasV2 ? "0000000000000020" : "0000000000000000"
        for field in ["CapInh", "CapAmb"] {
            #expect(status.contains("\(field):\t0000000000000000"), "\(field)")
        }
        for field in ["CapPrm", "CapEff", "CapBnd"] {
            #expect(status.contains("\(field):\t\(kept)"), "\(field)")
        }
        #expect(status.contains("NoNewPrivs:\t1"))
        #expect(status.contains("Seccomp:\t2"))
        // stdio, the signalfd, /dev/kmsg (kill-mode reports), the status socket, the report pipe
        // and, as root, the runtime registry's two directories (/run/bulkhead and the VM's) and
        // the VM cgroup's cgroup.kill and the directory above it (for its removal).
        #expect(!targets.contains("/dev/kvm"), "\(targets)")
        #expect(targets.count <= 11, "\(targets)")
        if geteuid() == 0 && hasV2 {
            #expect(targets.contains { $0.hasSuffix("/bulkhead/vm-vm-\(running.pid)/cgroup.kill") }, "\(targets)")
            // The cgroup's own directory (children are cloned into it) is closed before sealing.
            #expect(!targets.contains { $0.hasSuffix("/bulkhead/vm-vm-\(running.pid)") }, "\(targets)")
        }
        #expect(targets.contains("anon_inode:[signalfd]"), "\(targets)")
    }
}
