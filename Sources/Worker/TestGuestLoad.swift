import KVM
import TestGuest

/// The test guest's low memory as the worker loads it: long-mode tables for ring 3, the
/// device window's mapping, the image, and its boot information and command line. Written
/// once at start into fresh (zero) memory, and again by `ctl reset` (VMRestart) after the
/// first TestGuest.Layout.minimumMemory bytes are zeroed: a reset rebuilds that memory
/// rather than every worker keeping a 4 MiB copy of it.
struct TestGuestLoad {
    let cpus: Int
    let cmdline: [UInt8]
    /// vCPU 0's TSC frequency (the guest's clock for `sleep=`).
    let tscKHz: UInt64

    func write(into memory: GuestMemory) throws {
        let longMode = LongMode()
        try longMode.writeTables(into: memory, privilege: .user)
        try DeviceWindow.map(into: memory, tables: longMode, user: true)  // ring-3 drivers
        try memory.write(TestGuest.image, at: TestGuest.Layout.imageAddress)
        // struct boot_info (Guest/layout.h), then the command line.
        let info = TestGuest.Layout.bootInfoAddress
        try memory.store(TestGuest.Layout.bootInfoMagic, at: info)
        try memory.store(UInt32(cpus), at: info + 4)
        try memory.store(UInt32(cmdline.count), at: info + 8)
        try memory.store(tscKHz, at: info + 16)
        try memory.store(UInt64(memory.size), at: info + 24)
        try memory.write(cmdline, at: TestGuest.Layout.cmdlineAddress)
    }

    /// For `reset`: the low memory zeroed (the .bss and stacks as at start), then written again.
    func rewrite(into memory: GuestMemory) throws {
        guard let low = memory.pointer(at: 0, count: TestGuest.Layout.minimumMemory) else {
            throw KVMError.invalid("guest memory smaller than the test guest's minimum")
        }
        low.initializeMemory(as: UInt8.self, repeating: 0, count: TestGuest.Layout.minimumMemory)
        try write(into: memory)
    }
}
