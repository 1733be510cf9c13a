import KVM

/// `struct escape_request` (Guest/layout.h), the one message of the insecure escape-probe
/// device: a syscall number, six arguments, and for each argument whether it is a number or
/// a guest-physical pointer with a length. The device passes a pointer argument to the kernel
/// only as a host address inside guest RAM: the whole declared range must lie there, and a
/// string must end with a NUL inside it (the kernel reads a path up to its NUL, not up to a
/// length). Everything here is arithmetic on the request and the mapping, never a syscall,
/// so the vCPU and io threads' filters need nothing for it.
///
/// What the check cannot cover: a call that reads more than the declared range because of
/// its own arguments (an addrlen larger than the bytes behind the pointer, a struct holding
/// further pointers), or a second vCPU rewriting the bytes between the check and the call.
/// The probe runs any syscall the guest asks for; it is declared insecure and is for tests.
public enum EscapeRequest {
    /// sizeof(struct escape_request).
    public static let size = 128
    static let numberOffset = 0
    static let argumentsOffset = 8
    static let resultOffset = 56
    static let answerOffset = 64  // `done`
    static let kindsOffset = 72
    static let lengthsOffset = 80
    public static let argumentCount = 6

    /// `kinds[i]`: how `args[i]` is passed (ESCAPE_ARG_* in layout.h).
    public enum ArgumentKind: UInt8 {
        case number = 0  // as is
        case bytes = 1  // guest-physical address of `lengths[i]` bytes
        case string = 2  // the same, and a NUL must lie within them
    }

    /// What the device writes to `done` (ESCAPE_* in layout.h). For a refusal `result` holds
    /// the index of the argument refused, and no syscall was made.
    public enum Answer: UInt32, Sendable {
        case performed = 1
        case pointerOutsideMemory = 2  // empty, past the end of guest RAM, or wrapping around
        case stringWithoutNUL = 3
        case unknownKind = 4
    }

    /// A request ready for the kernel: pointer arguments are host addresses by now.
    public struct Call: Equatable {
        public let number: Int
        public let arguments: [Int]
    }

    public struct Refusal: Error, Equatable {
        public let answer: Answer
        public let argument: Int

        public init(answer: Answer, argument: Int) {
            self.answer = answer
            self.argument = argument
        }
    }

    /// Reads the request at `request` (the caller checked that `size` bytes of guest memory
    /// are there) and translates its pointer arguments, or says which argument it refuses.
    public static func decode(_ request: UnsafeRawPointer, in memory: GuestMemory) -> Result<Call, Refusal> {
        var arguments = [Int]()
        arguments.reserveCapacity(argumentCount)
        for i in 0..<argumentCount {
            let value = request.loadUnaligned(fromByteOffset: argumentsOffset + 8 * i, as: UInt64.self)
            let rawKind = request.load(fromByteOffset: kindsOffset + i, as: UInt8.self)
            guard let kind = ArgumentKind(rawValue: rawKind) else {
                return .failure(Refusal(answer: .unknownKind, argument: i))
            }
            if kind == .number {
                arguments.append(Int(bitPattern: UInt(value)))
                continue
            }
            let length = request.loadUnaligned(fromByteOffset: lengthsOffset + 8 * i, as: UInt64.self)
            guard let host = hostAddress(value, length: length, in: memory) else {
                return .failure(Refusal(answer: .pointerOutsideMemory, argument: i))
            }
            if kind == .string && !UnsafeRawBufferPointer(start: host, count: Int(length)).contains(0) {
                return .failure(Refusal(answer: .stringWithoutNUL, argument: i))
            }
            arguments.append(Int(bitPattern: host))
        }
        let number = request.loadUnaligned(fromByteOffset: numberOffset, as: Int.self)
        return .success(Call(number: number, arguments: arguments))
    }

    /// The host address of guest bytes [address, address + length), or nil unless the range
    /// holds at least one byte and lies wholly inside guest RAM. An empty range is refused
    /// too: at the end of RAM its address would be the first host byte after the mapping.
    public static func hostAddress(_ address: UInt64, length: UInt64, in memory: GuestMemory) -> UnsafeMutableRawPointer? {
        guard length > 0, length <= UInt64(memory.size) else { return nil }  // Int(length) below cannot trap
        return memory.pointer(at: address, count: Int(length))
    }

    /// Writes the answer: `result` first, then `done`, which is what the guest waits on.
    public static func answer(_ request: UnsafeMutableRawPointer, _ answer: Answer, result: Int) {
        request.storeBytes(of: result, toByteOffset: resultOffset, as: Int.self)
        request.storeBytes(of: answer.rawValue, toByteOffset: answerOffset, as: UInt32.self)
    }
}
