/// Guest-physical space for MMIO devices (virtio-mmio), above all RAM (which ends below
/// VMLimits.ramLimit, 3 GiB) and below 4 GiB, as Firecracker places its devices.
public enum DeviceWindow {
    public static let base: UInt64 = 0xD000_0000
    /// One 2 MiB page: room for 512 devices of 4 KiB.
    public static let size: UInt64 = 2 << 20

    /// Adds the window to the identity map `LongMode.writeTables` built (`privilege: .user`
    /// makes it reachable from ring 3, where the test guest's drivers run). Its page
    /// directory takes the page after the tables' own pages, below the guest image.
    public static func map(into memory: GuestMemory, tables: LongMode, user: Bool) throws {
        let gigabytes = max(1, (UInt64(memory.size) + (1 << 30) - 1) >> 30)
        guard base >> 30 >= gigabytes else { throw KVMError.invalid("the device window overlaps guest memory") }
        let pdpt = tables.pml4Address + 0x1000
        let pd = pdpt + 0x1000 * (1 + gigabytes)
        let flags: UInt64 = 0x1 | 0x2 | (user ? 0x4 : 0)
        let pageFlags = flags | 0x80 | 0x10  // 2 MiB page, cache disabled (PCD)
        try memory.write(repeatElement(0, count: 4096), at: pd)
        try memory.store(pd | flags, at: pdpt + 8 * (base >> 30))
        try memory.store(base | pageFlags, at: pd + 8 * ((base >> 21) & 511))
    }
}
