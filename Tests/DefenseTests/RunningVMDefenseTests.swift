import Foundation
import ProcessInspection
import Testing
import TestSupport

/// DESIGN.md §7 proven on running VMs, read from /proc itself (not from `bulkhead status`),
/// and `bulkhead status` checked against the same /proc. These need root: `bulkhead run` only
/// changes identities and namespaces when started as root.
@Suite(.serialized) struct RunningVMDefenseTests {
    static func status(_ pid: Int32, _ tid: Int32) -> TaskStatus {
        TaskStatus(parsing: (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)) ?? "")
    }

    static func namespace(_ pid: Int32, _ kind: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(kind)")
    }

    @Test func workerHasNoPrivilegeItsOwnUidAndPrivateNamespacesAndEveryThreadStacksTwoFilters() throws {
        #expect(geteuid() == 0, "needs root")
        let name = DefenseRun.uniqueName("worker")
        let run = try DefenseRun(name: name, ["--cmdline", "sleep=3000 poweroff"])
        let processes = try #require(run.waitUntilRunning(roles: ["worker"]), "the VM never registered a confined worker")
        let worker = try #require(processes["worker"])
        let tids = ProcFS.numericEntries("/proc/\(worker)/task")
        #expect(tids.count >= 4)
        for tid in tids {
            let s = Self.status(worker, tid)
            let thread = s.name ?? "\(tid)"
            #expect(s.noNewPrivs == true, "\(thread)")
            #expect(s.capEff == 0 && s.capPrm == 0 && s.capBnd == 0, "\(thread)")
            #expect((s.uids ?? [0]).allSatisfy { $0 != 0 }, "\(thread)")
            #expect((s.gids ?? [0]).allSatisfy { $0 != 0 }, "\(thread)")
            #expect(s.seccompMode == 2, "\(thread)")
            // worker-base, then each thread's role filter (the main thread, which only waits
            // for control, stacks control's).
            #expect((s.seccompFilters ?? 0) >= 2, "\(thread)")
        }
        let host = DefenseRun.hostNamespaces
        for kind in ["mnt", "net", "pid", "ipc", "uts"] {
            #expect(Self.namespace(worker, kind) != nil && Self.namespace(worker, kind) != host[kind], "\(kind)")
        }
        // Its root is an empty directory, and its network namespace holds only lo.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker)/root/")) == [])
        let devices = try String(contentsOfFile: "/proc/\(worker)/net/dev", encoding: .utf8)
            .split(separator: "\n").dropFirst(2).map { $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces) }
        #expect(devices == ["lo"])
        let limits = ResourceLimit.parse(try String(contentsOfFile: "/proc/\(worker)/limits", encoding: .utf8))
        #expect(limits.first { $0.name == "Max core file size" }?.hard == 0)
        #expect(limits.first { $0.name == "Max processes" }?.hard == 5)  // 4 threads + KVM's own task
        #expect(limits.first { $0.name == "Max open files" }?.hard == 256)
        #expect(limits.first { $0.name == "Max file size" }?.hard == 0)  // stdout and stderr are pipes here
        let end = run.finish()
        #expect(end.status == 0, "\(end.errors)")
        #expect(end.output.contains("slept 3000 ms"))
        #expect(DefenseRun.registry(name) == nil, "the registry entry is removed when the VM ends")
    }

    @Test func twoRunningVMsGetDistinctWorkerUids() throws {
        let first = try DefenseRun(name: DefenseRun.uniqueName("a"), ["--cmdline", "sleep=2000 poweroff"])
        let second = try DefenseRun(name: DefenseRun.uniqueName("b"), ["--cmdline", "sleep=2000 poweroff"])
        let a = try #require(first.waitUntilRunning(roles: ["worker"])?["worker"])
        let b = try #require(second.waitUntilRunning(roles: ["worker"])?["worker"])
        let uidA = Self.status(a, a).uids?.first
        let uidB = Self.status(b, b).uids?.first
        #expect(uidA != nil && uidB != nil && uidA != uidB)
        #expect(first.finish().status == 0)
        #expect(second.finish().status == 0)
    }

    /// The `Groups:` line of /proc/PID/status: the supplementary groups, nil if unreadable.
    static func supplementaryGroups(_ pid: Int32) -> [String]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") })
        else { return nil }
        return line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// Issue 7's sets, exactly, on every thread of each helper: block and exec hold no
    /// capability, net CAP_NET_ADMIN (bit 12) alone in effective, permitted and bounding;
    /// inheritable and ambient are empty everywhere; an unprivileged uid and gid, no
    /// supplementary groups, no-new-privileges and a filter. The block helper still opens the
    /// read-write disk (its file belongs to the helper account) and the net helper the tap
    /// (its /dev/net/tun fd was opened before it dropped root; this host's node is 0600 root).
    @Test func helpersHoldExactlyTheirCapabilitiesWithADiskATapAndAHook() throws {
        #expect(geteuid() == 0, "needs root")
        let tap = uniqueTapName("bhd")
        #expect(shell("ip tuntap add dev \(tap) mode tap") == 0)
        defer { shell("ip link del \(tap)") }
        let disk = try HelperUserFiles.create("/tmp/bulkhead-defense-disk-\(getpid()).img", contents: Data(count: 1 << 20))
        defer { unlink(disk) }
        let name = DefenseRun.uniqueName("caps")
        let run = try DefenseRun(
            name: name,
            ["--disk", disk, "--net", "tap=\(tap)", "--hook", "up=/usr/bin/true", "--cmdline", "blk-write=0 sleep=2000 poweroff"])
        let processes = try #require(run.waitUntilRunning(roles: ["worker", "block", "net", "exec"]))
        let expected: [(role: String, capabilities: UInt64)] = [("block", 0), ("net", 1 << 12), ("exec", 0)]
        for (role, capabilities) in expected {
            let pid = try #require(processes[role], "\(role)")
            #expect(Self.supplementaryGroups(pid) == [], "\(role)")
            let tids = ProcFS.numericEntries("/proc/\(pid)/task")
            #expect(!tids.isEmpty, "\(role)")
            for tid in tids {
                let s = Self.status(pid, tid)
                let held = "\(role) tid \(tid): eff \(Capability.decode(s.capEff ?? 0)) bnd \(Capability.decode(s.capBnd ?? 0))"
                #expect(s.capEff == capabilities && s.capPrm == capabilities && s.capBnd == capabilities, "\(held)")
                #expect(s.capInh == 0 && s.capAmb == 0, "\(held)")
                #expect((s.uids ?? [0]).allSatisfy { $0 != 0 } && (s.gids ?? [0]).allSatisfy { $0 != 0 }, "\(role)")
                #expect(s.noNewPrivs == true && s.seccompMode == 2, "\(role)")
            }
        }
        // The net helper stays in the host's network namespace, where the taps are.
        let net = try #require(processes["net"])
        #expect(Self.namespace(net, "net") == Self.namespace(getpid(), "net"))
        let end = run.finish()
        #expect(end.status == 0, "\(end.errors)")
        #expect(end.output.contains("blk 0 write 1048576 bytes: status 0"), "\(end.output)")
    }

    @Test func statusJSONAgreesWithProc() throws {
        let name = DefenseRun.uniqueName("json")
        let run = try DefenseRun(name: name, ["--cmdline", "sleep=8000 poweroff"])
        let processes = try #require(run.waitUntilRunning(roles: ["worker"]))
        let worker = try #require(processes["worker"])
        let status = try DefenseRun.command(["status", name, "--format", "json"])
        #expect(status.status == 0, "\(status.errors)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any])
        let vm = try #require((json["vms"] as? [[String: Any]])?.first)
        #expect(vm["name"] as? String == name)
        #expect((vm["parent"] as? Int).map(Int32.init) == run.process.processIdentifier)
        let listed = try #require(vm["processes"] as? [[String: Any]])
        let entry = try #require(listed.first { $0["role"] as? String == "worker" })
        #expect((entry["pid"] as? Int).map(Int32.init) == worker)
        let namespaces = try #require(entry["namespaces"] as? [String: [String: Any]])
        for kind in ["mnt", "net"] {
            #expect(namespaces[kind]?["id"] as? String == Self.namespace(worker, kind))
            #expect(namespaces[kind]?["host"] as? Bool == false)
        }
        let threads = try #require(entry["threads"] as? [[String: Any]])
        for thread in threads {
            let tid = try #require((thread["tid"] as? Int).map(Int32.init))
            let s = Self.status(worker, tid)
            #expect(thread["name"] as? String == s.name)
            #expect((thread["uid"] as? [Int])?.map(UInt32.init) == s.uids)
            #expect((thread["capEff"] as? [String]) == Capability.decode(s.capEff ?? 0))
            #expect(thread["noNewPrivs"] as? Bool == s.noNewPrivs)
            #expect(thread["seccompFilters"] as? Int == s.seccompFilters)
        }
        #expect(run.finish().status == 0)
    }

    @Test func aSIGKILLedParentsEntryIsPrunedByStatusAndTheNameIsFreeAgain() throws {
        let name = DefenseRun.uniqueName("kill")
        let run = try DefenseRun(name: name, ["--cmdline", "sleep=10000 poweroff"])
        #expect(run.waitUntilRunning(roles: ["worker"]) != nil)
        kill(run.process.processIdentifier, SIGKILL)
        _ = run.finish()
        // A SIGKILLed parent cannot remove its entry; any `bulkhead run` or `status` (tests run
        // side by side) may prune it from here on.
        let status = try DefenseRun.command(["status", name])
        #expect(status.status == 1)
        #expect(DefenseRun.registry(name) == nil, "status prunes the dead VM's entry")
        let again = try DefenseRun(name: name, ["--cmdline", "poweroff"])
        #expect(again.finish().status == 0)
    }

    @Test func aNameInUseByALiveVMOrMalformedIsRefusedBeforeAnythingStarts() throws {
        let name = DefenseRun.uniqueName("dup")
        let run = try DefenseRun(name: name, ["--cmdline", "sleep=10000 poweroff"])  // still running when the second run looks, under load too
        #expect(run.waitUntilRunning(roles: ["worker"]) != nil)
        let second = try DefenseRun(name: name, ["--cmdline", "poweroff"]).finish()
        #expect(second.status == 65)
        #expect(second.errors.contains("in use by a running VM"), "\(second.errors)")
        for bad in ["../etc", "a/b", "", ".hidden", String(repeating: "x", count: 65), "sp ace"] {
            let refused = try DefenseRun(name: bad, ["--cmdline", "poweroff"]).finish()
            #expect(refused.status == 65, "\(bad): \(refused.errors)")
        }
        #expect(run.finish().status == 0)
    }

    @Test func aFileConsoleStillWorksUnderTheWorkersFileSizeLimit() throws {
        let console = NSTemporaryDirectory() + "bulkhead-defense-console-\(getpid()).log"
        defer { unlink(console) }
        let name = DefenseRun.uniqueName("console")
        let run = try DefenseRun(name: name, ["--console", console, "--cmdline", "banner sleep=2000 poweroff"])
        let worker = try #require(run.waitUntilRunning(roles: ["worker"])?["worker"])
        let limits = ResourceLimit.parse(try String(contentsOfFile: "/proc/\(worker)/limits", encoding: .utf8))
        #expect(limits.first { $0.name == "Max file size" }?.hard == 1 << 30)
        #expect(run.finish().status == 0)
        let written = try String(contentsOfFile: console, encoding: .utf8)
        #expect(written.contains("bulkhead test guest: 1 vcpu") && written.contains("slept 2000 ms"), "\(written)")
    }
}
