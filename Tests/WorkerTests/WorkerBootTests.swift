import Glibc
import Testing

/// The worker boots the built-in test guest under its filters (kill mode, the default).
@Suite struct WorkerBootTests {
    @Test(arguments: [1, 2, 12])
    func testGuestBootsAndEveryVCPUChecksIn(cpus: Int) throws {
        let run = try WorkerRun.run(["--cpus", "\(cpus)", "--cmdline", "banner cpus poweroff"])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.output.contains("bulkhead test guest: \(cpus) vcpu"))
        #expect(run.lines.contains("cpus: \(cpus)"))
    }

    @Test func defaultCommandLinePrintsBannerAndPowersOff() throws {
        let run = try WorkerRun.run([])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines == ["bulkhead test guest: 1 vcpu"])
    }

    @Test func unknownStepFailsWithNonZeroStatusAndRunsNothingAfter() throws {
        let run = try WorkerRun.run(["--cmdline", "banner frobnicate banner"])
        #expect(run.ending == .exited(1))
        #expect(run.lines == ["bulkhead test guest: 1 vcpu", "error: unknown step 'frobnicate'"])
    }

    @Test(arguments: ["sleep=", "sleep=12x", "exits=-1", "escape=nosuchcall", "escape=getpid,zz", "escape=getpid@gpu", "poweroff=1"])
    func malformedStepFailsWithNonZeroStatus(step: String) throws {
        let run = try WorkerRun.run(["--device", "escape-probe", "--cmdline", step])
        #expect(run.ending == .exited(1), "\(run.output)")
        #expect(run.output.hasPrefix("error: "))
    }

    @Test func sleepAndExitsStepsReportWhatTheyDid() throws {
        let run = try WorkerRun.run(["--cmdline", "sleep=20 exits=100"])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines.first == "slept 20 ms")
        #expect(run.lines.last?.hasPrefix("exits: 100 in ") == true)
    }

    @Test func stepsWithoutPoweroffStillEndTheRunCleanly() throws {
        let run = try WorkerRun.run(["--cmdline", "banner"])
        #expect(run.ending == .exited(0))
    }

    @Test func guestTripleFaultEndsTheRunWithAVMMError() throws {
        let run = try WorkerRun.run(["--cpus", "2", "--cmdline", "banner triple-fault banner"])
        #expect(run.ending == .exited(70))
        #expect(run.lines == ["bulkhead test guest: 2 vcpus"])
        #expect(run.errors.contains("vcpu0: the guest triple-faulted (KVM_EXIT_SHUTDOWN)"))
    }

    @Test func statusFDCarriesReadyStartedAndThePoweroffStatus() throws {
        var status: [Int32] = [0, 0]
        try #require(pipe(&status) == 0)
        for fd in status { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let run = try WorkerRun.run(["--status-fd", "4", "--cpus", "2", "--cmdline", "cpus"], statusFD: status[1])
        close(status[1])
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = read(status[0], &buffer, buffer.count)
        close(status[0])
        #expect(run.ending == .exited(0))
        #expect(String(decoding: buffer.prefix(max(0, n)), as: UTF8.self) == "ready\nstarted\npoweroff 0\n")
    }

    @Test func workerEndsTheVMWhenTheParentHangsUp() throws {
        var status: [Int32] = [0, 0]
        try #require(pipe(&status) == 0)
        for fd in status { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        close(status[0])  // the parent is gone before the guest finishes
        let run = try WorkerRun.run(["--status-fd", "4", "--cmdline", "sleep=20000"], statusFD: status[1], timeoutSeconds: 10)
        close(status[1])
        #expect(run.ending == .exited(70))
        #expect(run.errors.contains("the parent hung up"))
    }

    @Test func tooLongCommandLineIsRefusedBeforeTheVMStarts() throws {
        let run = try WorkerRun.run(["--cmdline", String(repeating: "banner ", count: 600)])
        #expect(run.ending == .exited(64))
        #expect(run.output.isEmpty)
    }

    @Test func missingKVMFDIsAUsageError() throws {
        let run = try WorkerRun.run(["--kvm-fd", "99"])
        #expect(run.ending == .exited(70))
        #expect(run.errors.contains("KVM_GET_API_VERSION"))
    }
}

extension WorkerBootTests {
    @Test func cpuidStepPrintsTheFourRegisters() throws {
        let run = try WorkerRun.run(["--cmdline", "cpuid=0 cpuid=7,0"])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines.count == 2)
        #expect(run.lines.allSatisfy { $0.hasPrefix("cpuid 0x0000000") && $0.contains(" edx=0x") })
    }
}
