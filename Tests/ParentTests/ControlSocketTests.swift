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
