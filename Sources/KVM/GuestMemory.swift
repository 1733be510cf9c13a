import Glibc

/// The guest's RAM: one anonymous private mapping, readable and writable, never executable,
/// registered with KVM as slot 0 at guest-physical 0. Every access is bounds-checked.
public final class GuestMemory: @unchecked Sendable {
    // Sendable: the mapping lives as long as the VM; guest-visible bytes are shared with
    // the guest anyway, so concurrent access is the device model's business, as in hardware.
    public let base: UnsafeMutableRawPointer
    public let size: Int

    /// mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0).
    public init(size: Int) throws {
        guard size > 0, size % 4096 == 0 else { throw KVMError.invalid("guest memory size \(size) is not a positive page multiple") }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw KVMError.system(call: "mmap(guest memory)", errno: .current) }
        base = p
        self.size = size
    }

    deinit { munmap(base, size) }

    /// The host address of `count` guest bytes at `address`, or nil when any of them is outside.
    public func pointer(at address: UInt64, count: Int) -> UnsafeMutableRawPointer? {
        guard count >= 0, address <= UInt64(size), UInt64(count) <= UInt64(size) - address else { return nil }
        return base + Int(address)
    }

    public func write(_ bytes: some Collection<UInt8>, at address: UInt64) throws {
        guard let p = pointer(at: address, count: bytes.count) else {
            throw KVMError.outsideGuestMemory(address: address, count: bytes.count)
        }
        var i = 0
        for b in bytes {
            p.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    public func store<T: FixedWidthInteger>(_ value: T, at address: UInt64) throws {
        guard let p = pointer(at: address, count: MemoryLayout<T>.size) else {
            throw KVMError.outsideGuestMemory(address: address, count: MemoryLayout<T>.size)
        }
        p.storeBytes(of: value.littleEndian, as: T.self)
    }

    public func load<T: FixedWidthInteger>(_ type: T.Type, at address: UInt64) throws -> T {
        guard let p = pointer(at: address, count: MemoryLayout<T>.size) else {
            throw KVMError.outsideGuestMemory(address: address, count: MemoryLayout<T>.size)
        }
        return T(littleEndian: p.loadUnaligned(as: T.self))
    }
}
