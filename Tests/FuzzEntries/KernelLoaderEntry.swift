import KVM

/// The Linux loaders the worker runs on the kernel fd the block helper handed over
/// (`LinuxBoot.load`: ELF vmlinux or bzImage by its first bytes), into 32 MiB of guest
/// memory, the least a Linux guest is given. Input: the kernel image. `elf` keeps inputs
/// that start with the ELF magic, `bzImage` those that do not, so each target explores its
/// own loader. Verdicts: the entry point and every byte of the kernel lie in guest memory
/// above the VMM's own tables.
public enum KernelLoaderEntry {
    static let elfMagic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]

    public static func elf(_ image: [UInt8]) -> FuzzOutcome {
        guard image.starts(with: elfMagic) else { return .refused("not ELF: the bzimage-loader target's input") }
        return load(image)
    }

    public static func bzImage(_ image: [UInt8]) -> FuzzOutcome {
        guard !image.starts(with: elfMagic) else { return .refused("ELF: the elf-loader target's input") }
        return load(image)
    }

    static func load(_ image: [UInt8]) -> FuzzOutcome {
        let loaded: LinuxBoot.Loaded
        do {
            loaded = try LinuxBoot.load(
                kernel: KernelBytes(image), initrd: KernelBytes?.none, commandLine: "console=ttyS0", into: memory)
        } catch {
            return .refused(String(describing: error))
        }
        let size = UInt64(memory.size)
        check(loaded.entry >= LinuxBoot.kernelMinimumAddress && loaded.entry < size, "entry 0x\(String(loaded.entry, radix: 16)) outside the kernel")
        check(loaded.kernelEnd > LinuxBoot.kernelMinimumAddress && loaded.kernelEnd <= size, "kernel end 0x\(String(loaded.kernelEnd, radix: 16))")
        check(loaded.entry < loaded.kernelEnd, "entry past the kernel's end")
        return .accepted
    }

    /// One mapping for every input (MAP_NORESERVE: only the pages a kernel touches are real).
    static let memory: GuestMemory = {
        do { return try GuestMemory(size: 32 << 20) } catch { fatalError("guest memory: \(error)") }
    }()
}
