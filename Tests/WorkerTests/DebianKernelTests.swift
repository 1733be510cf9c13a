import Foundation
import KVM
import SystemPackage
import Testing
import TestSupport

/// Debian's own kernel through the worker: an ELF vmlinux from the block helper's fd (here
/// the test's), booted at its 64-bit entry with boot_params built by the VMM.
@Suite struct DebianKernelTests {
    @Test func debianBzImageLoadsThroughItsSetupHeader() throws {
        let vmlinuz = URL(fileURLWithPath: try DebianKernel.vmlinux()).deletingLastPathComponent().appendingPathComponent("vmlinuz").path
        let fd = open(vmlinuz, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let memory = try GuestMemory(size: 256 << 20)
        let loaded = try LinuxBoot.load(
            kernel: KernelFile(fd: FileDescriptor(rawValue: fd)), initrd: nil as KernelFile?,
            commandLine: "console=ttyS0", into: memory)
        #expect(loaded.entry == 0x10_0200)  // startup_64 of the decompressor
        #expect(try memory.load(UInt16.self, at: loaded.bootParams + 0x1FE) == 0xAA55)
        #expect(try memory.load(UInt16.self, at: loaded.bootParams + 0x206) >= 0x020C)
        #expect(try memory.load(UInt32.self, at: loaded.bootParams + 0x228) == UInt32(LinuxBoot.commandLineAddress))
    }

    @Test(.timeLimit(.minutes(5)))  // includes waiting for the kernel boot lock
    func debianVmlinuxPrintsLinuxVersionAndItsCommandLineWithin60Seconds() throws {
        let vmlinux = try DebianKernel.vmlinux()
        let kernel = open(vmlinux, O_RDONLY | O_CLOEXEC)
        try #require(kernel >= 0)
        defer { close(kernel) }
        let append = "console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=k panic=-1 noxsave bulkhead-test"
        let hide = DebianKernel.hiddenCPUIDArguments
        let run = try withKernelBootLock {
            try WorkerRun.run(
                ["--memory", "256", "--kernel-fd", "5", "--append", append] + hide, passing: [5: kernel],
                stopWhen: { output, _ in output.contains("Command line: \(append)") }, timeoutSeconds: 60)
        }
        #expect(run.output.contains("Linux version "), "\(run.output.suffix(2000)) \(run.errors)")
        #expect(run.output.contains("Command line: \(append)"))
        print("Debian vmlinux: first serial byte after \(run.firstByteMilliseconds ?? -1) ms")
        if DebianKernel.isPVM {
            print("NOTE: /dev/kvm is PVM (kvm_pvm): Linux ring-0 code is emulated here, so only early boot is checked; a full boot needs hardware virtualization.")
        }
    }
}
