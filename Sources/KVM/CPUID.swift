import CShim

/// A CPUID table as KVM_GET_SUPPORTED_CPUID returns and KVM_SET_CPUID2 takes it.
public struct CPUID: Sendable {
    public var entries: [kvm_cpuid_entry2]

    public init(entries: [kvm_cpuid_entry2]) { self.entries = entries }

    /// The table one vCPU sees: its APIC id in leaf 1 (EBX[31:24]) and in the x2APIC
    /// topology leaves 0xB/0x1F (EDX), the logical processor count in leaf 1 (EBX[23:16],
    /// with HTT set when there is more than one), and the hypervisor's own bit (ECX[31]).
    public func forVCPU(apicID: UInt32, count: UInt32) -> CPUID {
        var table = self
        for i in table.entries.indices {
            switch table.entries[i].function {
            case 1:
                var ebx = table.entries[i].ebx & 0x0000_FFFF
                ebx |= (apicID & 0xFF) << 24
                ebx |= (min(count, 255) & 0xFF) << 16
                table.entries[i].ebx = ebx
                if count > 1 { table.entries[i].edx |= 1 << 28 }  // HTT: the count field is valid
                table.entries[i].ecx |= 1 << 31  // running under a hypervisor
            case 0xB, 0x1F:
                table.entries[i].edx = apicID
            default:
                break
            }
        }
        return table
    }
}

/// A `struct kvm_cpuid2` with room for `capacity` entries (a C flexible array member).
final class CPUIDBuffer {
    let raw: UnsafeMutableRawPointer
    private let capacity: Int
    private static let headerSize = MemoryLayout<kvm_cpuid2>.size

    init(capacity: Int) {
        self.capacity = capacity
        let bytes = Self.headerSize + capacity * MemoryLayout<kvm_cpuid_entry2>.stride
        raw = .allocate(byteCount: bytes, alignment: 8)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        raw.storeBytes(of: UInt32(capacity), as: UInt32.self)  // nent
    }

    convenience init(_ table: CPUID) {
        self.init(capacity: table.entries.count)
        let first = (raw + Self.headerSize).bindMemory(to: kvm_cpuid_entry2.self, capacity: capacity)
        for (i, e) in table.entries.enumerated() { first[i] = e }
    }

    deinit { raw.deallocate() }

    var entries: [kvm_cpuid_entry2] {
        let count = Int(raw.load(as: UInt32.self))
        let first = (raw + Self.headerSize).bindMemory(to: kvm_cpuid_entry2.self, capacity: capacity)
        return Array(UnsafeBufferPointer(start: first, count: min(count, capacity)))
    }
}
