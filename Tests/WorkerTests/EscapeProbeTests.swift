import Glibc
import Sandbox
import Testing

/// Confinement proven through the real guest path: the guest asks the escape-probe device
/// to make a syscall, and the thread handling the exit makes it under its own filter.
@Suite struct EscapeProbeTests {
    /// Calls a guest that broke the device model would try first. Arguments are harmless
    /// where a call could matter if it were ever allowed.
    static let dangerousCalls = [
        "openat,-100,0,0", "open,0,0", "socket,2,1,0", "connect,3,0,0", "execve,0,0,0",
        "execveat,-100,0,0,0,0", "clone,17", "fork", "vfork", "ptrace,16,1", "mount,0,0,0,0,0",
        "unshare,0", "setns,0,0", "bpf,0,0,0", "init_module,0,0,0", "finit_module,-1,0,0",
        "kexec_load,0,0,0,0", "reboot,0,0,0,0", "kill,1,0", "mprotect,0x100000,4096,5",
        "mmap,0,4096,7,34,-1,0", "process_vm_writev,1,0,0,0,0,0", "io_uring_setup,1,0",
        "userfaultfd,0", "perf_event_open,0,0,-1,-1,0", "keyctl,0,0", "memfd_create,0,0",
        "chroot,0", "setuid,0", "prctl,22,2", "ioctl,1,0x5401,0", "pidfd_open,1,0",
    ]

    @Test(arguments: dangerousCalls)
    func vcpuThreadIsKilledForDangerousCall(call: String) throws {
        let run = try WorkerRun.run(["--device", "escape-probe", "--cmdline", "escape=\(call) banner"])
        #expect(run.ending == .signaled(SIGSYS), "\(run.output)")
        #expect(!run.output.contains("escape "))
        #expect(!run.output.contains("bulkhead test guest"))
    }

    @Test(arguments: ["openat,-100,0,0", "socket,2,1,0", "execve,0,0,0", "ptrace,16,1", "mount,0,0,0,0,0", "unshare,0"])
    func trapModeReportNamesTheCallAndTheVCPUThread(call: String) throws {
        let run = try WorkerRun.run(["--seccomp", "trap", "--device", "escape-probe", "--cmdline", "escape=\(call)"])
        #expect(run.ending == .exited(ForbiddenCallReport.exitStatus))
        let line = try #require(run.errors.split(separator: "\n").first { $0.hasPrefix("bulkhead-sigsys ") })
        let report = try #require(ForbiddenCallReport.parseTrapReport(line, process: "worker"))
        #expect(report.syscall?.name == String(call.prefix { $0 != "," }))
        #expect(report.thread == "vcpu0")
        #expect(report.role == .vcpu)
        #expect(report.pid == run.pid)
    }

    @Test func allowedCallSucceedsAndTheGuestCarriesOn() throws {
        // gettid: every worker thread allows it (getpid no worker code makes once confined).
        let run = try WorkerRun.run(["--device", "escape-probe", "--cmdline", "escape=gettid banner poweroff"])
        #expect(run.ending == .exited(0), "\(run.errors)")
        let tid = run.lines.first.flatMap { $0.hasPrefix("escape gettid on vcpu = ") ? Int32($0.dropFirst(24)) : nil }
        #expect((tid ?? 0) > run.pid, "\(run.lines)")
        #expect(run.lines.last == "bulkhead test guest: 1 vcpu")
    }

    @Test func consoleWriteFromTheVCPUThreadIsAllowed() throws {
        // write(1, 0, 0): the vCPU role writes console bytes, so the call runs (and writes nothing).
        let run = try WorkerRun.run(["--device", "escape-probe", "--cmdline", "escape=write,1,0,0 banner"])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines.first == "escape write on vcpu = 0")
    }

    @Test func callAllowedOnIOThreadSurvivesWithAtIO() throws {
        let run = try WorkerRun.run(["--device", "escape-probe", "--cmdline", "escape=fdatasync,1@io banner"])
        #expect(run.ending == .exited(0), "\(run.errors)")
        #expect(run.lines.first?.hasPrefix("escape fdatasync on io = ") == true)
        #expect(run.lines.last == "bulkhead test guest: 1 vcpu")
    }

    @Test func sameCallIsKilledOnTheVCPUThread() throws {
        let run = try WorkerRun.run(["--seccomp", "trap", "--device", "escape-probe", "--cmdline", "escape=fdatasync,1"])
        #expect(run.ending == .exited(ForbiddenCallReport.exitStatus))
        #expect(run.errors.contains("syscall=75 "))
        #expect(run.errors.contains("thread=vcpu0 "))
    }

    @Test func ioThreadIsKilledForSocket() throws {
        let run = try WorkerRun.run(["--seccomp", "trap", "--device", "escape-probe", "--cmdline", "escape=socket,2,1,0@io"])
        #expect(run.ending == .exited(ForbiddenCallReport.exitStatus))
        #expect(run.errors.contains("syscall=41 "))
        #expect(run.errors.contains("thread=io "))
    }

    @Test(arguments: ["", "@io"])
    func pointerArgumentReachesTheKernelUnderTheFilters(place: String) throws {
        // write(1, "hello\n", 6): the bytes are in guest memory, the vCPU and io roles may
        // write, and the kernel reads them through the translated host address.
        let run = try WorkerRun.run(["--device", "escape-probe", "--cmdline", "escape=write,1,hex:68656c6c6f0a,6\(place) banner"])
        #expect(run.ending == .exited(0), "\(run.errors)")
        let thread = place.isEmpty ? "vcpu" : "io"
        #expect(run.lines == ["hello", "escape write on \(thread) = 6", "escape write arg 1: 68656c6c6f0a", "bulkhead test guest: 1 vcpu"])
    }

    @Test(arguments: ["", "@io"])
    func pointerOutsideGuestMemoryIsRefusedBeforeAnySyscall(place: String) throws {
        // openat kills either thread: the guest carrying on to its banner proves no syscall was
        // made for the refused request. 64 MiB of RAM end at 0x4000000.
        let run = try WorkerRun.run(["--memory", "64", "--device", "escape-probe", "--cmdline", "escape=openat,-100,ptr:0x4000000:1,0\(place) banner"])
        #expect(run.ending == .exited(0), "\(run.errors)")
        let thread = place.isEmpty ? "vcpu" : "io"
        #expect(run.lines == ["escape openat on \(thread) refused: argument 1 is not inside guest RAM", "bulkhead test guest: 1 vcpu"])
    }

    @Test(arguments: ["hex:abc", "hex:zz", "hex:", "buf:0", "buf:8193", "ptr:0x1000", "strptr:x:1", "$1"])
    func malformedPointerArgumentStopsTheGuestBeforeTheRequest(argument: String) throws {
        let run = try WorkerRun.run(["--device", "escape-probe", "--cmdline", "escape=write,1,\(argument),1 banner"])
        #expect(run.ending == .exited(1), "\(run.output)")
        #expect(run.lines.count == 1 && run.lines[0].hasPrefix("error: escape: "), "\(run.output)")
    }

    @Test func escapeProbeIsAbsentUnlessAskedFor() throws {
        let run = try WorkerRun.run(["--cmdline", "escape=getpid"])
        #expect(run.ending == .exited(1))
        #expect(run.lines == ["error: no escape-probe device answered"])
    }

    @Test func withoutFiltersTheProbeReallyMakesTheCall() throws {
        // The reference for the kill tests: with --seccomp none the same request runs.
        let run = try WorkerRun.run(["--seccomp", "none", "--device", "escape-probe", "--cmdline", "escape=openat,-100,0,0"])
        #expect(run.ending == .exited(0))
        #expect(run.lines == ["escape openat on vcpu = -14"])  // EFAULT: a NULL path
    }
}
