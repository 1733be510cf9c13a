import CShim
import Glibc
import Sandbox

/// One raw syscall with arguments resolved to machine words. Pointer arguments point into
/// buffers this value owns, so they stay valid for the call.
struct ProbeCall: @unchecked Sendable {  // owns its buffers; used by one thread at a time
    let syscall: Syscall
    private(set) var words: [Int] = []
    private var storage: [UnsafeMutableRawPointer] = []

    init(name: String, abi: SyscallABI, arguments: [String]) throws(ProbeError) {
        guard let syscall = Syscall(named: name, abi: abi) else { throw .unknownSyscall(name, abi) }
        self.syscall = syscall
        for argument in arguments { words.append(try word(for: argument)) }
        while words.count < 6 { words.append(-1) }
    }

    private mutating func word(for argument: String) throws(ProbeError) -> Int {
        if argument.hasPrefix("str:") {
            let text = Array(argument.utf8.dropFirst(4)) + [0]
            return address(of: text)
        }
        if argument.hasPrefix("buf:"), let size = Int(argument.dropFirst(4)) {
            return address(of: [UInt8](repeating: 0, count: max(size, 1)))
        }
        if argument == "timespec0" { return address(of: [UInt8](repeating: 0, count: 16)) }
        if argument.hasPrefix("0x"), let v = UInt64(argument.dropFirst(2), radix: 16) {
            return Int(bitPattern: UInt(v))
        }
        if let v = Int(argument) { return v }
        throw .badArgument(argument)
    }

    private mutating func address(of bytes: [UInt8]) -> Int {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 16)
        memory.copyMemory(from: bytes, byteCount: bytes.count)
        storage.append(memory)
        return Int(bitPattern: memory)
    }

    /// Makes the call through the requested ABI and returns the kernel's raw answer.
    func perform() -> Int {
        let w = words
        switch syscall.abi {
        case .i386:
            return bh_raw_syscall_i386(Int(syscall.number), w[0], w[1], w[2], w[3], w[4])
        case .native, .x32:
            return bh_raw_syscall(Int(syscall.number), w[0], w[1], w[2], w[3], w[4], w[5])
        }
    }
}
