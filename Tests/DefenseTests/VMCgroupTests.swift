import Cgroup
import Foundation
import ProcessInspection
import Testing
import TestSupport

/// The VM's cgroup v2 on this host's real hierarchy (a v1/v2 hybrid: cgroup2 at
/// /sys/fs/cgroup/unified offering only hugetlb), read from /proc and cgroupfs: every process
/// of the VM is in it and the parent is not; the sealed parent holds no capability and still
/// ends the VM (politely, or through cgroup.kill); the cgroup is gone afterwards, also after
/// a SIGKILLed parent; limits the host cannot apply refuse the start. Needs root.
@Suite(.serialized) struct VMCgroupTests {
    static let hierarchy = CgroupHierarchy.mounted()

    /// Where `bulkhead run --name NAME` (started by this test process) puts its VM.
    static func directory(_ name: String) throws -> String {
        let hierarchy = try #require(Self.hierarchy, "this host has a cgroup v2 hierarchy")
        let own = try #require(CgroupHierarchy.v2Path(ofProcess: "self"))
        return VMCgroup.directory(of: name, under: hierarchy.directory(of: own))
    }

    static func path(_ directory: String) -> String { String(directory.dropFirst(hierarchy!.mountPoint.count)) }

    static func members(_ directory: String) -> Set<Int32> {
        Set(((try? String(contentsOfFile: directory + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) })
    }

    static func status(_ pid: Int32) -> String { (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? "" }

    static func disk() throws -> String {
        let path = "/tmp/bulkhead-cgroup-disk-\(getpid()).img"
        if !FileManager.default.fileExists(atPath: path) {
            try FixtureFile.write(path, Data(count: 1 << 20), mode: 0o644)
        }
        return path
    }

    /// SIGSTOP, then waits until every thread of `pid` is stopped (state T): a stop still on
    /// its way would let the process read the polite stop first.
    static func stop(_ pid: Int32) {
        kill(pid, SIGSTOP)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let states = ProcFS.numericEntries("/proc/\(pid)/task").map { tid in
                ProcFS.read("/proc/\(pid)/task/\(tid)/stat").flatMap { $0.split(separator: ")").last?.split(separator: " ").first }
            }
            if !states.isEmpty && states.allSatisfy({ $0 == "T" }) { return }
            usleep(5_000)
        }
    }

    /// Waits until the parent has sealed (its filter is in) and returns its /proc status.
    static func sealedStatus(_ pid: Int32) -> String {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let text = status(pid)
            if text.contains("Seccomp:\t2") { return text }
            usleep(10_000)
        }
        return status(pid)
    }

    @Test func everyProcessOfTheVMIsInItsCgroupTheParentIsNotAndHoldsNoCapability() throws {
        #expect(geteuid() == 0, "needs root")
        let name = DefenseRun.uniqueName("cg")
        let directory = try Self.directory(name)
        let run = try DefenseRun(
            name: name, ["--disk", "\(Self.disk()),readonly", "--hook", "up=/usr/bin/true", "--cmdline", "sleep=4000 poweroff"])
        let processes = try #require(run.waitUntilRunning(roles: ["worker", "block", "exec"]))
        let parent = run.process.processIdentifier
        var children = Set(processes.filter { $0.key != "parent" }.values)
        #expect(children.count == 3, "\(processes)")
        // The exec helper's hook launcher, its one child (Helpers/exec/HookLauncher.swift).
        let exec = try #require(processes["exec"])
        let launchers = ((try? String(contentsOfFile: "/proc/\(exec)/task/\(exec)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { Int32($0) }
        #expect(launchers.count == 1, "\(launchers)")
        children.formUnion(launchers)
        // cgroup.procs lists exactly the VM's processes: nothing else, not the parent.
        #expect(Self.members(directory) == children, "\(processes)")
        for pid in children {
            for tid in ProcFS.numericEntries("/proc/\(pid)/task") {
                let own = ProcFS.read("/proc/\(pid)/task/\(tid)/cgroup").flatMap(CgroupHierarchy.v2Path(inProcCgroup:))
                #expect(own == Self.path(directory), "pid \(pid) tid \(tid)")
            }
        }
        #expect(CgroupHierarchy.v2Path(ofProcess: "\(parent)") != Self.path(directory))
        #expect(CgroupHierarchy.v2Path(ofProcess: "\(parent)") == CgroupHierarchy.v2Path(ofProcess: "self"))
        // Sealed: not one capability, not even CAP_KILL (the children run under other uids).
        let sealed = Self.sealedStatus(parent)
        for field in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            #expect(sealed.contains("\(field):\t0000000000000000"), "\(field): \(sealed)")
        }
        // `bulkhead status` shows the same, read from /proc and cgroupfs.
        let shown = try DefenseRun.command(["status", name, "--format", "json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any])
        let vm = try #require((json["vms"] as? [[String: Any]])?.first)
        let cgroup = try #require(vm["cgroup"] as? [String: Any])
        #expect(cgroup["directory"] as? String == directory)
        #expect(cgroup["exists"] as? Bool == true)
        let limits = try #require(cgroup["limits"] as? [String: [String: String]])
        for file in ["memory.max", "pids.max"] {
            let controller = String(file.prefix { $0 != "." })
            if CgroupHierarchy.controllers(inDirectory: Self.hierarchy!.mountPoint).contains(controller) {
                #expect(limits[file]?["value"] != nil, "\(file): \(limits)")
            } else {
                #expect(limits[file]?["notAvailable"]?.contains("has no \(controller) controller") == true, "\(file): \(limits)")
            }
        }
        for entry in try #require(vm["processes"] as? [[String: Any]]) {
            let pid = try #require((entry["pid"] as? Int).map(Int32.init))
            #expect(entry["cgroup"] as? String == CgroupHierarchy.v2Path(ofProcess: "\(pid)"))
            #expect((entry["cgroup"] as? String == Self.path(directory)) == children.contains(pid), "\(entry)")
        }
        let text = try DefenseRun.command(["status", name])
        #expect(text.output.contains("cgroup: \(directory): memory.max"), "\(text.output)")
        #expect(text.output.contains("cgroup v2: \(Self.path(directory)) (in the VM's cgroup)"), "\(text.output)")
        let end = run.finish()
        #expect(end.status == 0, "\(end.errors)")
        #expect(!FileManager.default.fileExists(atPath: directory), "the cgroup is removed when the VM ends")
    }

    @Test func sigtermToTheParentEndsASleepingVMThroughItsPoliteStop() throws {
        let name = DefenseRun.uniqueName("term")
        let directory = try Self.directory(name)
        let run = try DefenseRun(name: name, ["--disk", "\(Self.disk()),readonly", "--cmdline", "sleep=20000 poweroff"])
        let processes = try #require(run.waitUntilRunning(roles: ["worker", "block"]))
        #expect(Self.sealedStatus(run.process.processIdentifier).contains("CapEff:\t0000000000000000"))
        kill(run.process.processIdentifier, SIGTERM)
        let end = run.finish(timeout: 10)
        #expect(end.status == 143, "\(end.errors)")
        // The worker read `stop` and the block helper its hang-up: nobody needed killing.
        #expect(!end.errors.contains("did not stop"), "\(end.errors)")
        #expect(!end.output.contains("slept 20000 ms"))
        for pid in processes.values { #expect(kill(pid, 0) != 0 && errno == ESRCH, "\(pid) is gone") }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test func aVMThatIgnoresThePoliteStopIsKilledThroughCgroupKill() throws {
        let name = DefenseRun.uniqueName("stuck")
        let directory = try Self.directory(name)
        let run = try DefenseRun(name: name, ["--disk", "\(Self.disk()),readonly", "--cmdline", "sleep=20000 poweroff"])
        let processes = try #require(run.waitUntilRunning(roles: ["worker", "block"]))
        let worker = try #require(processes["worker"])
        let block = try #require(processes["block"])
        #expect(Self.sealedStatus(run.process.processIdentifier).contains("CapEff:\t0000000000000000"))
        // Stopped processes read no message and see no hang-up; the sealed parent may not
        // signal them (other uids, no CAP_KILL): only cgroup.kill can end them.
        Self.stop(worker)
        Self.stop(block)
        let started = Date()
        kill(run.process.processIdentifier, SIGTERM)
        let end = run.finish(timeout: 20)
        let took = Date().timeIntervalSince(started)
        #expect(end.status == 143, "\(end.errors)")
        #expect(
            end.errors.contains("did not stop within 500 ms: worker (pid \(worker)), block (pid \(block)); killed through the VM's cgroup.kill")
                || end.errors.contains("did not stop within 500 ms: block (pid \(block)), worker (pid \(worker)); killed through the VM's cgroup.kill"),
            "\(end.errors)")
        #expect(!end.errors.contains("did not end"), "\(end.errors)")
        #expect(took < 10, "the parent ended the VM (it took \(took) s), it did not wait for its sleep")
        for pid in [worker, block] { #expect(kill(pid, 0) != 0 && errno == ESRCH, "\(pid) is gone") }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test func anOrphanLeftInTheCgroupIsKilledWhenTheVMEndsAndTheCgroupStillGoes() throws {
        let name = DefenseRun.uniqueName("orphan")
        let directory = try Self.directory(name)
        let run = try DefenseRun(name: name, ["--cmdline", "sleep=1500 poweroff"])
        guard run.waitUntilRunning(roles: ["worker"]) != nil else {
            Issue.record("the VM never ran: \(run.finish())")
            return
        }
        // Not a child of the parent (as a hook's daemon would not be): wait4 never sees it,
        // so only the sealed parent's cgroup.kill before its rmdir can end it.
        let orphan = Process()
        orphan.executableURL = URL(fileURLWithPath: "/bin/sleep")
        orphan.arguments = ["60"]
        try orphan.run()
        try "\(orphan.processIdentifier)".write(toFile: directory + "/cgroup.procs", atomically: false, encoding: .utf8)
        let end = run.finish()
        #expect(end.status == 0, "\(end.errors)")
        #expect(!end.errors.contains("cgroup stays"), "\(end.errors)")
        let deadline = Date().addingTimeInterval(5)
        while orphan.isRunning && Date() < deadline { usleep(10_000) }
        if orphan.isRunning { kill(orphan.processIdentifier, SIGKILL) }
        orphan.waitUntilExit()
        #expect(orphan.terminationReason == .uncaughtSignal && orphan.terminationStatus == SIGKILL)
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test func aSIGKILLedParentsCgroupIsRemovedByStatusAndWhatStillRunsInItIsKilled() throws {
        // A registry of its own: a `bulkhead` built before VM cgroups existed (other worktrees
        // test side by side) would prune the dead entry and leave the cgroup.
        let root = NSTemporaryDirectory() + "bulkhead-cgroup-registry-\(getpid())"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let environment = ["BULKHEAD_RUNTIME_DIR": root]
        let name = DefenseRun.uniqueName("cgkill")
        let directory = try Self.directory(name)
        // Its uid claims are private too: a uid of its own, outside the default range.
        let uid = 400_000 + Int(getpid()) % 100_000
        let run = try DefenseRun(
            name: name, ["--uid-range", "\(uid)-\(uid)", "--cmdline", "sleep=20000 poweroff"], environment: environment)
        guard let worker = run.waitUntilRunning(roles: ["worker"])?["worker"] else {
            Issue.record("the VM never ran: \(run.finish())")
            return
        }
        // Something that outlives the parent in its cgroup (the worker dies with it,
        // PR_SET_PDEATHSIG): a process moved in by hand stands for an orphan a helper left.
        let straggler = Process()
        straggler.executableURL = URL(fileURLWithPath: "/bin/sleep")
        straggler.arguments = ["60"]
        try straggler.run()
        try "\(straggler.processIdentifier)".write(toFile: directory + "/cgroup.procs", atomically: false, encoding: .utf8)
        #expect(Self.members(directory) == [worker, straggler.processIdentifier])
        kill(run.process.processIdentifier, SIGKILL)
        _ = run.finish()
        #expect(FileManager.default.fileExists(atPath: directory), "a SIGKILLed parent cannot remove its cgroup")
        let status = try DefenseRun.command(["status", name], environment: environment)
        #expect(status.status == 1)
        let deadline = Date().addingTimeInterval(5)
        while straggler.isRunning && Date() < deadline { usleep(10_000) }
        if straggler.isRunning { kill(straggler.processIdentifier, SIGKILL) }
        straggler.waitUntilExit()
        #expect(straggler.terminationReason == .uncaughtSignal && straggler.terminationStatus == SIGKILL)
        #expect(!FileManager.default.fileExists(atPath: directory), "status removed the dead VM's cgroup")
        #expect(DefenseRun.registry(name, root: root) == nil)
    }

    @Test func aStartThatFailsAfterTheCgroupWasMadeRemovesIt() throws {
        // The cgroup exists before any child: here the block service cannot be reached (a
        // socket inode nothing listens on: validation only asks that it be a socket).
        let name = DefenseRun.uniqueName("fail")
        let directory = try Self.directory(name)
        let service = "/tmp/bulkhead-no-such-\(getpid()).sock"
        #expect(mknod(service, S_IFSOCK | 0o600, 0) == 0)
        defer { unlink(service) }
        let end = try DefenseRun(name: name, ["--disk", Self.disk(), "--connect", "block=\(service)", "--cmdline", "poweroff"]).finish()
        #expect(end.status == 69, "\(end.errors)")
        #expect(end.errors.contains("cannot connect"), "\(end.errors)")
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(DefenseRun.registry(name) == nil)
    }

    @Test func limitsThisHostCannotApplyRefuseTheStartAndNothingStarts() throws {
        let hierarchy = try #require(Self.hierarchy)
        let offered = CgroupHierarchy.controllers(inDirectory: hierarchy.mountPoint)
        for (option, value, controller) in [("--memory-limit", "256M", "memory"), ("--pids-limit", "64", "pids")] {
            let name = DefenseRun.uniqueName("limit")
            let directory = try Self.directory(name)
            let run = try DefenseRun(name: name, [option, value, "--cmdline", "sleep=3000 poweroff"])
            var seen = false
            if offered.contains(controller) {  // a host whose v2 hierarchy has it: the limit is applied
                #expect(run.waitUntilRunning(roles: ["worker"]) != nil)
                let written = try String(contentsOfFile: "\(directory)/\(controller).max", encoding: .utf8)
                #expect(written == (controller == "memory" ? "268435456\n" : "64\n"))
                seen = true
            }
            let end = run.finish()
            if seen {
                #expect(end.status == 0, "\(end.errors)")
                continue
            }
            #expect(end.status == 65, "\(end.errors)")
            let has = offered.isEmpty ? "none" : offered.joined(separator: " ")
            let expected = "bulkhead: \(option): the \(controller) controller is not available in the cgroup v2 hierarchy at \(hierarchy.mountPoint) (it has: \(has)); this host binds it to cgroup v1, which bulkhead does not manage\n"
            #expect(end.errors == expected, "\(end.errors)")
            #expect(end.output.isEmpty)
            #expect(DefenseRun.registry(name) == nil, "nothing registered")
            #expect(!FileManager.default.fileExists(atPath: directory), "no cgroup made")
            let check = try DefenseRun.command(["check", option, value])
            #expect(check.status == 65 && check.errors == expected, "\(check.errors)")
        }
    }

    /// A host without cgroup v2, made here: the parent runs in a private mount namespace with
    /// the unified hierarchy unmounted. It keeps CAP_KILL (profile `parent-kill`), says so,
    /// and still ends a worker that ignores the polite stop.
    @Test func withoutACgroupV2HierarchyTheParentKeepsCapKillAndSaysSo() throws {
        let hierarchy = try #require(Self.hierarchy)
        let name = DefenseRun.uniqueName("nov2")
        let unmount = "umount -l \(hierarchy.mountPoint) && exec \"$0\" \"$@\""
        let run = try DefenseRun(
            name: name, ["--cmdline", "sleep=20000 poweroff"],
            through: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", unmount])
        let worker = try #require(run.waitUntilRunning(roles: ["worker"])?["worker"])
        let parent = run.process.processIdentifier
        let sealed = Self.sealedStatus(parent)
        for field in ["CapPrm", "CapEff", "CapBnd"] {
            #expect(sealed.contains("\(field):\t0000000000000020"), "\(field): \(sealed)")
        }
        let entry = try String(contentsOfFile: "\(DefenseRun.runtimeRoot)/\(name)/processes", encoding: .utf8)
        #expect(entry.contains("nocgroup no cgroup v2 hierarchy is mounted\n"), "\(entry)")
        let status = try DefenseRun.command(["status", name])
        #expect(status.output.contains("cgroup: none (no cgroup v2 hierarchy is mounted)"), "\(status.output)")
        #expect(status.output.contains("cgroup v2: / (") == false, "\(status.output)")
        Self.stop(worker)
        kill(parent, SIGTERM)
        let end = run.finish(timeout: 20)
        #expect(end.status == 143, "\(end.errors)")
        #expect(end.errors.contains("no cgroup for this VM (no cgroup v2 hierarchy is mounted): the sealed parent keeps CAP_KILL"), "\(end.errors)")
        #expect(end.errors.contains("did not stop within 500 ms: worker (pid \(worker)); SIGTERM, then SIGKILL"), "\(end.errors)")
        #expect(kill(worker, 0) != 0 && errno == ESRCH)
        #expect(DefenseRun.registry(name) == nil)
    }

    @Test func malformedLimitsAreRefusedBeforeAnythingStarts() throws {
        for (arguments, status, message) in [
            (["--memory-limit", "12Q"], Int32(65), "--memory-limit 12Q: expected a size"),
            (["--memory-limit", "1M"], 65, "--memory-limit 1M: must be between 4M and 1P"),
            (["--memory-limit", "64M"], 65, "--memory-limit 64M: below the guest memory (--memory 64, in MiB)"),
            (["--pids-limit", "0"], 65, "--pids-limit 0: expected a whole number from 1 to 4194304"),
            (["--pids-limit", "many"], 65, "--pids-limit many: expected a whole number"),
            (["--pids-limit", "3"], 65, "--pids-limit 3: the worker's 5 tasks (1 vCPU) and 0 helper(s) need at least 5"),
            (["--pids-limit", "-5"], 64, "Missing value for '--pids-limit <N>'"),
            (["--memory-limit"], 64, "Missing value for '--memory-limit <SIZE>'"),
        ] {
            let name = DefenseRun.uniqueName("bad")
            let end = try DefenseRun(name: name, arguments + ["--cmdline", "poweroff"]).finish()
            #expect(end.status == status, "\(arguments): \(end.errors)")
            #expect(end.errors.contains(message), "\(arguments): \(end.errors)")
            #expect(DefenseRun.registry(name) == nil)
            #expect(!FileManager.default.fileExists(atPath: try Self.directory(name)))
        }
    }
}
