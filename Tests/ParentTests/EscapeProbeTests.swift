import Foundation
import Testing
import TestSupport

/// The worker's filters proven through the real parent: the guest asks the escape-probe
/// device for a syscall, the vCPU thread makes it, the worker dies, and `bulkhead run`
/// exits 159 naming the process, the thread and the call.
@Suite(.serialized) struct EscapeProbeTests {
    /// Calls a guest that broke the device model would try first (harmless arguments).
    static let dangerousCalls = [
        "openat,-100,0,0", "socket,2,1,0", "connect,3,0,0", "execve,0,0,0", "clone,17", "fork",
        "ptrace,16,1", "mount,0,0,0,0,0", "unshare,0", "setns,0,0", "bpf,0,0,0", "init_module,0,0,0",
        "kexec_load,0,0,0,0", "reboot,0,0,0,0", "kill,1,0", "mprotect,0x100000,4096,5",
        "process_vm_writev,1,0,0,0,0,0", "io_uring_setup,1,0", "userfaultfd,0",
        "perf_event_open,0,0,-1,-1,0", "keyctl,0,0", "memfd_create,0,0", "setuid,0", "chroot,0",
    ]

    static func name(_ call: String) -> String { String(call.prefix { $0 != "," && $0 != "@" }) }

    @Test(arguments: dangerousCalls)
    func trapModeRunExits159NamingTheCallAndVCPU0(call: String) throws {
        let run = try ParentRun.run(["run", "--allow-insecure", "--seccomp", "trap", "--device", "escape-probe", "--cmdline", "escape=\(call) banner"])
        #expect(run.status == 159, "\(run.errors)")
        #expect(run.errors.contains("bulkhead: forbidden call: process worker pid "), "\(run.errors)")
        #expect(run.errors.contains(", thread vcpu0, syscall \(Self.name(call)) ("), "\(run.errors)")
        #expect(!run.output.contains("bulkhead test guest"))
        #expect(run.survivors.isEmpty)
    }

    @Test(arguments: dangerousCalls)
    func killModeRunExits159AndNamesTheCallWhenTheKernelRecordIsThere(call: String) throws {
        let run = try ParentRun.run(["run", "--allow-insecure", "--device", "escape-probe", "--cmdline", "escape=\(call) banner"])
        #expect(run.status == 159, "\(run.errors)")
        #expect(run.errors.contains("bulkhead: forbidden call: process worker pid "), "\(run.errors)")
        if !run.errors.contains("[unknown]") {  // the kernel rate-limits its records
            #expect(run.errors.contains(", thread vcpu0, syscall \(Self.name(call)) ("), "\(run.errors)")
        }
        #expect(!run.output.contains("bulkhead test guest"))
        #expect(run.survivors.isEmpty)
    }

    @Test func killModeReportNamesOpenatFromTheKernelRecord() throws {
        // A run whose record the kernel's rate limit suppressed says "unknown": retried
        // (KernelAuditRetry) only when the kernel says it suppressed lines.
        let retry = try KernelAuditRetry {
            let run = try ParentRun.run(["run", "--allow-insecure", "--device", "escape-probe", "--cmdline", "escape=openat,-100,0,0"])
            #expect(run.status == 159, "\(run.errors)")
            #expect(run.survivors.isEmpty)
            if run.errors.contains(", thread vcpu0, syscall openat (257) [kernel audit record]") { return true }
            #expect(run.errors.contains("[unknown]"), "\(run.errors)")
            return false
        }
        #expect(retry.misses < retry.attempts, "no kernel record in \(retry.attempts) attempts")
        #expect(retry.missesWereRateLimited, "\(retry.misses) runs said unknown without the kernel suppressing lines")
    }

    @Test(arguments: ["trap", "kill"])
    func vcpuThreadCannotSignalItsParent(mode: String) throws {
        // `$$` is the parent's own pid (sh execs bulkhead); SIGKILL would end the parent.
        let run = try ParentRun.runWithOwnPid(
            "run --allow-insecure --seccomp \(mode) --device escape-probe --cmdline \"escape=kill,$$,9 banner\"")
        #expect(!run.signaled, "the parent was killed")
        #expect(run.status == 159, "\(run.errors)")
        #expect(run.errors.contains("bulkhead: forbidden call: process worker pid "), "\(run.errors)")
        if mode == "trap" || !run.errors.contains("[unknown]") {
            #expect(run.errors.contains(", thread vcpu0, syscall kill (62)"), "\(run.errors)")
        }
        #expect(run.survivors.isEmpty)
    }

    @Test func withoutFiltersTheProbeReallyReachesTheParent() throws {
        // The reference for the test above: unfiltered, kill(parent, 0) reaches the kernel. As
        // root the worker is PID 1 of its own PID namespace (README: Security model), where the
        // parent's pid does not exist (ESRCH, -3); otherwise it succeeds.
        let run = try ParentRun.runWithOwnPid("run --allow-insecure --seccomp none --device escape-probe --cmdline \"escape=kill,$$,0 banner\"")
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines.first == "escape kill on vcpu = \(geteuid() == 0 ? -3 : 0)")
    }

    @Test func allowedGettidSucceedsAndTheGuestCarriesOn() throws {
        let run = try ParentRun.run(["run", "--allow-insecure", "--device", "escape-probe", "--cmdline", "escape=gettid banner poweroff"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines.first?.hasPrefix("escape gettid on vcpu = ") == true)
        #expect(run.lines.last == "bulkhead test guest: 1 vcpu")
        #expect(run.survivors.isEmpty)
    }

    @Test func consoleWriteFromTheVCPUThreadIsAllowed() throws {
        let run = try ParentRun.run(["run", "--allow-insecure", "--device", "escape-probe", "--cmdline", "escape=write,1,0,0 banner"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines.first == "escape write on vcpu = 0")
        #expect(run.lines.last == "bulkhead test guest: 1 vcpu")
    }

    @Test func fdatasyncIsAllowedOnTheIOThread() throws {
        let run = try ParentRun.run(["run", "--allow-insecure", "--device", "escape-probe", "--cmdline", "escape=fdatasync,-1@io banner"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.lines.first == "escape fdatasync on io = -9")  // EBADF: the call ran
        #expect(run.lines.last == "bulkhead test guest: 1 vcpu")
        #expect(run.survivors.isEmpty)
    }

    @Test func fdatasyncIsForbiddenOnTheVCPUThread() throws {
        let run = try ParentRun.run(["run", "--allow-insecure", "--seccomp", "trap", "--device", "escape-probe", "--cmdline", "escape=fdatasync,-1 banner"])
        #expect(run.status == 159)
        #expect(run.errors.contains(", thread vcpu0, syscall fdatasync (75)"), "\(run.errors)")
        #expect(run.survivors.isEmpty)
    }

    @Test func socketIsForbiddenOnTheIOThreadToo() throws {
        let run = try ParentRun.run(["run", "--allow-insecure", "--seccomp", "trap", "--device", "escape-probe", "--cmdline", "escape=socket,2,1,0@io"])
        #expect(run.status == 159)
        #expect(run.errors.contains(", thread io, syscall socket (41)"), "\(run.errors)")
    }
}
