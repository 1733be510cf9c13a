import Devices
import Glibc
import KVM
import SystemPackage

/// The split-virtqueue walker (Sources/Devices) over guest memory the fuzzer writes, as the
/// io thread runs it: `Virtqueue.makeReady`, then `VirtioBlock.process` (nextChain, the
/// block request, addUsed) on a 64 KiB in-memory disk. Input: a 16-byte header — queue size
/// (u16), features (byte 2, bit 0: indirect descriptors; bit 1: read-only disk), the
/// descriptor table, available and used ring addresses (u32 each at 4, 8, 12) — then the
/// first bytes of the 64 KiB of guest memory (the rest is zero). Verdicts: every buffer of
/// every chain lies inside guest memory, and a chain never holds more descriptors than
/// its table.
public enum VirtqueueEntry {
    static let memorySize = 64 << 10

    public static func run(_ input: [UInt8]) -> FuzzOutcome {
        guard input.count >= 16 else { return .refused("shorter than the 16-byte header") }
        func u32(_ at: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(input[at + $1]) << (8 * UInt64($1)) } }
        let memory = Memory.shared.guest
        memset(memory.base, 0, memory.size)
        let image = input[16...].prefix(memory.size)
        image.withUnsafeBytes { memory.base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }

        var queue = Virtqueue(maxSize: VirtioBlock.queueSize)
        queue.size = UInt16(input[0]) | UInt16(input[1]) << 8
        (queue.descriptorTable, queue.availableRing, queue.usedRing) = (u32(4), u32(8), u32(12))
        let indirect = input[2] & 1 != 0
        do { try queue.makeReady(memory: memory) } catch { return .refused("\(error)") }

        // The walk alone, on a copy, with the checks on what it hands out.
        var walker = queue
        do {
            for _ in 0..<Int(queue.size) {
                guard let chain = try walker.nextChain(memory: memory, indirect: indirect) else { break }
                for buffer in chain.readable + chain.writable {
                    check(buffer.pointer >= memory.base && buffer.pointer + buffer.length <= memory.base + memory.size, "buffer outside guest memory")
                    check(buffer.pointer == memory.base + Int(buffer.address), "buffer pointer is its guest address")
                }
                let count = chain.readable.count + chain.writable.count
                check(count <= max(Int(queue.size), Int(Virtqueue.maxIndirectDescriptors)), "a chain longer than its table")
            }
        } catch {
            return .refused("\(error)")
        }

        let disk = VirtioBlock(
            fd: FileDescriptor(rawValue: Memory.shared.disk), byteCount: 64 << 10, readOnly: input[2] & 2 != 0, serial: "bulkhead-fuzz")
        let features = indirect ? VirtioMMIO.featureIndirect : 0
        do { _ = try disk.process(queue: 0, &queue, memory: memory, features: features) } catch {
            return .refused("\(error)")
        }
        return .accepted
    }

    /// Guest memory and the disk behind the block device, made once per process.
    final class Memory: @unchecked Sendable {
        static let shared = Memory()
        let guest: GuestMemory
        /// A 64 KiB disk, unlinked as soon as it is open: nothing is left behind.
        let disk: Int32

        private init() {
            do { guest = try GuestMemory(size: VirtqueueEntry.memorySize) } catch { fatalError("guest memory: \(error)") }
            var template = Array("/tmp/bulkhead-fuzz-disk-XXXXXX".utf8CString)
            disk = mkstemp(&template)
            precondition(disk >= 0 && ftruncate(disk, 64 << 10) == 0, "a temporary file for the fuzz disk")
            _ = fcntl(disk, F_SETFD, FD_CLOEXEC)
            unlink(template)
        }
    }
}
