import Foundation
import Testing
import TestSupport

/// `bulkhead ctl` against real VMs: the sealed parent serves the control socket and forwards
/// pause, resume and stop to the worker (README "Operating a running VM").
@Suite(.serialized) struct ControlSocketTests {
    /// A guest that counts for 60 s unless stopped.
    static let counting = ["--cmdline", "tick=600,100"]

    @Test func infoReportsTheVMAndPauseHoldsTheGuestUntilResume() throws {
        let vm = try ControlledVM("pause", ["--cpus", "2"] + Self.counting)
        guard vm.waitUntilServing(), vm.waitForTicks(3) else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let info = try vm.ctl(["info", "--format", "json"])
        #expect(info.status == 0)
        #expect(info.output.contains("\"state\": \"running\"") && info.output.contains("\"vcpus\": 2"))
        #expect(info.output.contains("\"memory_mib\": 64") && info.output.contains("\"worker\": "))

        #expect(try vm.ctl(["pause"]) == (0, "paused\n"))
        let atPause = vm.ticks
        usleep(700_000)  // seven tick periods: a running guest would have printed about 7 more
        #expect(vm.ticks == atPause, "the guest went on while paused")
        #expect(try vm.ctl(["info"]).output.contains("state: paused"))
        #expect(try vm.ctl(["pause"]).status == 75, "pausing a paused VM is a state conflict")

        #expect(try vm.ctl(["resume"]) == (0, "running\n"))
        #expect(vm.waitForTicks(atPause.count + 3))
        let after = vm.ticks
        #expect(after == Array(1...after.count), "the count goes on where it stopped, none lost or repeated")
        #expect(try vm.ctl(["resume"]).status == 75, "resuming a running VM is a state conflict")

        let stop = try vm.ctl(["stop", "--timeout-ms", "5000"])
        #expect(stop.status == 0 && stop.output == "stopping\nstopped\n")
        let run = vm.finish()
        #expect(run.status == 0, "a guest that powers off when asked ends the run cleanly: \(run.errors)")
        #expect(vm.consoleLines.last == "stop requested")
        #expect(!FileManager.default.fileExists(atPath: vm.socketPath), "the socket goes with the registry entry")
    }

    @Test func metricsCountTheWorkTheGuestDid() throws {
        let disk = NSTemporaryDirectory() + "bulkhead-ctl-metrics-\(getpid()).img"
        let fd = open(disk, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o644)
        #expect(fd >= 0 && ftruncate(fd, 64 << 20) == 0)
        close(fd)
        defer { unlink(disk) }
        let vm = try ControlledVM(
            "metrics", ["--memory", "128", "--disk", disk + ",readonly", "--cmdline", "blk-sha256=0 tick=600,100"])
        guard vm.waitUntilServing(), vm.waitForTicks(1) else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let metrics = try vm.ctl(["metrics", "--format", "json"])
        #expect(metrics.status == 0)
        // 64 MiB in requests of 1 MiB (Guest/virtio.c CHUNK), none failed.
        #expect(metrics.output.contains("\"virtio0.blk.requests\": 64,"), "\(metrics.output)")
        #expect(metrics.output.contains("\"virtio0.blk.bytes\": 67108864,"))
        #expect(metrics.output.contains("\"virtio0.blk.errors\": 0,"))
        // The console as it was before the request: the guest prints on while it is answered.
        let printedBefore = UInt64(vm.consoleLines.joined(separator: "\n").utf8.count)
        let text = try vm.ctl(["metrics"]).output
        let counters = Dictionary(
            text.split(separator: "\n").compactMap { line -> (String, UInt64)? in
                let parts = line.split(separator: " ")
                return parts.count == 2 ? (String(parts[0]), UInt64(parts[1]) ?? 0) : nil
            }, uniquingKeysWith: { $1 })
        // Every console byte is one port exit of the polling guest; its virtio registers are MMIO exits.
        let consoleBytes = counters["console.bytes"] ?? 0
        #expect(consoleBytes >= printedBefore, "\(consoleBytes) console bytes counted, \(printedBefore) printed before the request")
        #expect((counters["vcpu0.exits.io"] ?? 0) >= consoleBytes)
        // QueueNotify goes to an ioeventfd (no exit); the driver's other register accesses exit.
        #expect((counters["vcpu0.exits.mmio"] ?? 0) > 0)
        #expect(counters["virtio0.blk.ring-resets"] ?? 0 >= 1, "the driver's reset at probe")
        kill(vm.run.pid, SIGTERM)
        #expect(vm.finish().status == 143)
    }

    @Test func resetRestartsTheGuestFromItsFirstInstruction() throws {
        let vm = try ControlledVM("reset", ["--cpus", "2", "--cmdline", "banner cpus tick=600,100"])
        guard vm.waitUntilServing(), vm.waitForTicks(5) else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        #expect(try vm.ctl(["pause"]).status == 0)
        let before = vm.consoleLines.count
        #expect(try vm.ctl(["reset"]) == (0, "running\n"))
        // The guest starts over: its banner and check-in again, then the count from 1.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && vm.consoleLines.dropFirst(before).filter({ $0.hasPrefix("tick ") }).count < 2 { usleep(20_000) }
        let after = Array(vm.consoleLines.dropFirst(before))
        #expect(after.first == "bulkhead test guest: 2 vcpus", "\(after.prefix(4))")
        #expect(after.contains("cpus: 2"), "the parked AP ran again and checked in")
        #expect(after.filter { $0.hasPrefix("tick ") }.prefix(2) == ["tick 1", "tick 2"])
        kill(vm.run.pid, SIGTERM)
        #expect(vm.finish().status == 143)
    }

    @Test func aGuestThatIgnoresTheStopIsEndedAfterTheTimeout() throws {
        let vm = try ControlledVM("hard", ["--cmdline", "sleep=30000 poweroff"])
        guard vm.waitUntilServing() else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let started = Date()
        let stop = try vm.ctl(["stop", "--timeout-ms", "300"])
        #expect(stop.status == 0 && stop.output == "stopping\nstopped\n")
        let run = vm.finish()
        #expect(run.status == 143)
        #expect(run.errors.contains("stopped by the control socket: the guest did not power off within 300 ms"))
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func aDeniedFeatureGroupRefusesEveryCommandInIt() throws {
        let vm = try ControlledVM("deny", Self.counting + ["--deny-control-feature", "lifecycle"])
        guard vm.waitUntilServing() else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        for command in ["pause", "resume", "stop"] {
            let refused = try vm.ctl([command])
            #expect(refused.status == 77, "\(command): \(refused.output)")
            #expect(refused.output.contains("feature group lifecycle"))
        }
        #expect(try vm.ctl(["info"]).status == 0, "inspect is not denied")
        kill(vm.run.pid, SIGTERM)
        #expect(vm.finish().status == 143)
    }

    @Test func aPeerWhoIsNotRootNorTheOwnerNorInTheGroupIsRefused() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
            let group = getgrnam("bulkhead")?.pointee.gr_gid
        else { return }  // needs root, util-linux and the bulkhead group (make deps)
        let vm = try ControlledVM("peer", Self.counting + ["--control-group", "bulkhead"])
        guard vm.waitUntilServing() else {
            Issue.record("the VM never served its control socket: \(vm.finish(timeout: 1))")
            return
        }
        let stranger = try vm.ctl(["info"], setpriv: ["--reuid=65534", "--regid=65534", "--clear-groups"])
        #expect(stranger.status == 67, "\(stranger.output)")
        #expect(stranger.output.contains("uid 65534") && stranger.output.contains("nor in group bulkhead"))
        let member = try vm.ctl(["info"], setpriv: ["--reuid=65534", "--regid=65534", "--groups=\(group)"])
        #expect(member.status == 0, "a supplementary member of --control-group is served: \(member.output)")
        let primary = try vm.ctl(["info"], setpriv: ["--reuid=65534", "--regid=\(group)", "--clear-groups"])
        #expect(primary.status == 0, "so is one whose primary group it is: \(primary.output)")
        kill(vm.run.pid, SIGTERM)
        #expect(vm.finish().status == 143)
    }

    @Test(arguments: [
        (["--deny-control-feature", "test-only"], "--deny-control-feature test-only: unknown control feature group"),
        (["--control-group", "no-such-group-\(getpid())"], "no such group"),
    ])
    func badControlOptionsAreRefusedBeforeAnythingStarts(_ options: [String], _ message: String) throws {
        for command in ["run", "check"] {
            let run = try ParentRun.run([command, "--cmdline", "poweroff"] + options)
            #expect(run.status == 65, "\(command): \(run.errors)")
            #expect(run.errors.contains(message), "\(command): \(run.errors)")
        }
    }

    @Test func noSuchVMAndUnknownCommandsHaveTheirOwnStatus() throws {
        let runtime = NSTemporaryDirectory() + "bulkhead-ctl-none-\(getpid())"
        try? FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let none = try runToEnd(ParentRun.executable, ["ctl", "absent-\(getpid())", "info"], environment: ["BULKHEAD_RUNTIME_DIR": runtime])
        #expect(none.status == 66 && none.output.contains("no running VM named absent-"))
        let unknown = try runToEnd(ParentRun.executable, ["ctl", "absent", "block.open"], environment: ["BULKHEAD_RUNTIME_DIR": runtime])
        #expect(unknown.status == 64 && unknown.output.contains("not a control command"))
    }
}
