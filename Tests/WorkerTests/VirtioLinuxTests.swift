import Foundation
import Testing
import TestSupport

/// A Linux guest finds the virtio-mmio devices through `virtio_mmio.device=` entries the
/// worker appends to its command line (the kernel needs CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
@Suite struct VirtioLinuxTests {
    @Test(.timeLimit(.minutes(5)))  // includes waiting for the kernel boot lock
    func workerAppendsOneVirtioMMIOEntryPerDeviceToTheKernelCommandLine() throws {
        let vmlinux = try DebianKernel.vmlinux()
        let kernel = open(vmlinux, O_RDONLY | O_CLOEXEC)
        try #require(kernel >= 0)
        defer { close(kernel) }
        let disk = try VirtioBlockRunTests.RandomDisk(bytes: 1 << 20)
        let fd = disk.open(readOnly: true)
        defer { close(fd) }
        let append = "console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=k panic=-1 noxsave"
        let expected = "Command line: \(append) virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6"
        let hide = DebianKernel.hiddenCPUIDArguments
        let run = try withKernelBootLock {
            try WorkerRun.run(
                ["--memory", "256", "--kernel-fd", "5", "--disk-fd", "6", "--disk-fd", "6", "--append", append] + hide,
                passing: [5: kernel, 6: fd], stopWhen: { output, _ in output.contains(expected) }, timeoutSeconds: 60)
        }
        #expect(run.output.contains(expected), "\(run.output.suffix(2000)) \(run.errors)")
    }
}
