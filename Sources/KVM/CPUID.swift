import CWorker

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

/// A CPUID feature bit the VMM can hide from a guest, e.g. one an instruction emulator cannot
/// handle (PVM emulates guest ring 0 and has no cmpxchg16b).
public struct CPUIDFeature: Hashable, Sendable {
    public let name: String
    public let leaf: UInt32
    public let register: KeyPath<kvm_cpuid_entry2, UInt32> & Sendable
    public let bit: UInt32

    public static let known: [CPUIDFeature] = [
        CPUIDFeature(name: "cx16", leaf: 1, register: \.ecx, bit: 13),
        CPUIDFeature(name: "x2apic", leaf: 1, register: \.ecx, bit: 21),
        CPUIDFeature(name: "xsave", leaf: 1, register: \.ecx, bit: 26),
        CPUIDFeature(name: "avx", leaf: 1, register: \.ecx, bit: 28),
        CPUIDFeature(name: "rdrand", leaf: 1, register: \.ecx, bit: 30),
        CPUIDFeature(name: "pcid", leaf: 1, register: \.ecx, bit: 17),
        CPUIDFeature(name: "tsc-deadline", leaf: 1, register: \.ecx, bit: 24),
        CPUIDFeature(name: "fsgsbase", leaf: 7, register: \.ebx, bit: 0),
        CPUIDFeature(name: "avx2", leaf: 7, register: \.ebx, bit: 5),
        CPUIDFeature(name: "smep", leaf: 7, register: \.ebx, bit: 7),
        CPUIDFeature(name: "erms", leaf: 7, register: \.ebx, bit: 9),
        CPUIDFeature(name: "invpcid", leaf: 7, register: \.ebx, bit: 10),
        CPUIDFeature(name: "avx512f", leaf: 7, register: \.ebx, bit: 16),
        CPUIDFeature(name: "rdseed", leaf: 7, register: \.ebx, bit: 18),
        CPUIDFeature(name: "smap", leaf: 7, register: \.ebx, bit: 20),
        CPUIDFeature(name: "umip", leaf: 7, register: \.ecx, bit: 2),
        CPUIDFeature(name: "la57", leaf: 7, register: \.ecx, bit: 16),
        CPUIDFeature(name: "fsrm", leaf: 7, register: \.edx, bit: 4),
        CPUIDFeature(name: "pdpe1gb", leaf: 0x8000_0001, register: \.edx, bit: 26),
        CPUIDFeature(name: "rdtscp", leaf: 0x8000_0001, register: \.edx, bit: 27),
    ]

    public init(name: String, leaf: UInt32, register: KeyPath<kvm_cpuid_entry2, UInt32> & Sendable, bit: UInt32) {
        self.name = name
        self.leaf = leaf
        self.register = register
        self.bit = bit
    }

    public init?(named name: String) {
        guard let f = Self.known.first(where: { $0.name == name }) else { return nil }
        self = f
    }

    public static func == (a: Self, b: Self) -> Bool { a.name == b.name }
    public func hash(into h: inout Hasher) { h.combine(name) }
}

extension CPUID {
    /// The table without `features`.
    public func hiding(_ features: [CPUIDFeature]) -> CPUID {
        var table = self
        for f in features {
            guard let writable = f.register as? WritableKeyPath<kvm_cpuid_entry2, UInt32> else { continue }
            for i in table.entries.indices where table.entries[i].function == f.leaf && (f.leaf != 7 || table.entries[i].index == 0) {
                table.entries[i][keyPath: writable] &= ~(1 << f.bit)
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
