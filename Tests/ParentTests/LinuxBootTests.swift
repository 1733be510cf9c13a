import Foundation
import Testing
import TestSupport

/// Debian's own kernel through the whole stack: `bulkhead run --kernel` declares it to the
/// block helper, the worker asks the helper for it and boots it; the parent never opens it.
@Suite struct LinuxBootTests {
    @Test(.timeLimit(.minutes(5)))  // includes waiting for the kernel boot lock
    func debianVmlinuxPrintsLinuxVersionThroughTheParentAndTheBlockHelper() throws {
        // The cache lies under /root (0700), which the block helper's user cannot search.
        let vmlinux = try HelperUserFiles.reachableLink(to: DebianKernel.vmlinux(), name: "vmlinux")
        defer { unlink(vmlinux) }
        let console = "/tmp/bulkhead-parent-linux-\(getpid()).txt"
        defer { unlink(console) }
        let append = "console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=k panic=-1 noxsave bulkhead-parent-test"
        let hide = DebianKernel.hiddenCPUIDArguments
        let (text, run) = try withKernelBootLock { () throws -> (String, ParentRun) in
            let running = try ParentRun.Running(
                ["run", "--memory", "256", "--kernel", vmlinux, "--append", append, "--console", console] + hide)
            let deadline = Date().addingTimeInterval(90)
            var text = ""
            while Date() < deadline && running.process.isRunning && !text.contains("Command line: \(append)") {
                usleep(200_000)
                text = (try? String(contentsOfFile: console, encoding: .isoLatin1)) ?? ""
            }
            kill(running.pid, SIGTERM)
            let run = running.finish(timeout: 10)
            return (text, run)
        }
        #expect(text.contains("Linux version "), "\(text.suffix(2000)) \(run.errors)")
        #expect(text.contains("Command line: \(append)"))
        #expect(run.status == 143, "\(run.errors)")
        #expect(run.survivors.isEmpty)
        if DebianKernel.isPVM {
            print("NOTE: /dev/kvm is PVM (kvm_pvm): Linux ring-0 code is emulated here, so only early boot is checked; a full boot needs hardware virtualization.")
        }
    }
}
