/// The bounds of a VM, in one place: `bulkhead run` checks its options against them, the
/// worker checks its command line against them again, and the KVM layer builds memory and
/// the e820 map within them.
public enum VMLimits {
    /// Guest memory in MiB. At least 4: the test guest's image and its .bss (the vCPU stacks)
    /// end below 4 MiB (TestGuest.Layout.minimumMemory); Linux needs more
    /// (KVM.LinuxBoot.minimumMemoryMiB). At most 3072: RAM ends at `ramLimit`, below the device window (KVM.DeviceWindow, 0xD0000000)
    /// and the 32-bit MMIO hole (IOAPIC, local APIC).
    public static let memoryMiB = 4...3072
    /// The first guest-physical byte above RAM (3 GiB).
    public static let ramLimit = UInt64(memoryMiB.upperBound) << 20
    /// vCPUs: the test guest has a 16 KiB stack for each of at most 32 (MAX_CPUS, Guest/layout.h).
    public static let cpus = 1...32
    /// Bytes of the test guest's command line (`--cmdline`): CMDLINE_MAX in Guest/layout.h.
    public static let testGuestCommandLineMax = 3840
    /// The Linux boot protocol's command line, its NUL included: what boot_params' cmdline_size
    /// says (KVM.LinuxBoot.commandLineMax).
    public static let linuxCommandLineSize = 2048
    /// Bytes of `--append` for Linux: that command line less its NUL.
    public static let linuxAppendMax = linuxCommandLineSize - 1
}
