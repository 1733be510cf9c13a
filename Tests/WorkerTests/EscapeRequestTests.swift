import Devices
import KVM
import Testing

/// The escape probe's pointer arguments: a guest-physical range becomes a host address only
/// when every byte of it lies inside guest RAM (Sources/Devices/EscapeRequest.swift).
@Suite struct EscapeRequestTests {
    static let ramSize = 1 << 20
    static let requestAddress: UInt64 = 0x1000

    /// One argument of a request: its value and how it is passed.
    struct Argument {
        var value: UInt64
        var kind: UInt8 = 0
        var length: UInt64 = 0
        static func number(_ v: Int) -> Argument { Argument(value: UInt64(bitPattern: Int64(v))) }
        static func bytes(_ address: UInt64, _ length: UInt64) -> Argument { Argument(value: address, kind: 1, length: length) }
        static func string(_ address: UInt64, _ length: UInt64) -> Argument { Argument(value: address, kind: 2, length: length) }
    }

    /// Writes a struct escape_request (Guest/layout.h) at `requestAddress` and decodes it.
    static func decode(_ memory: GuestMemory, number: Int = 257, _ arguments: [Argument]) throws -> Result<EscapeRequest.Call, EscapeRequest.Refusal> {
        let base = requestAddress
        try memory.store(UInt64(number), at: base)
        for i in 0..<6 {
            let argument = i < arguments.count ? arguments[i] : .number(0)
            try memory.store(argument.value, at: base + 8 + UInt64(8 * i))
            try memory.store(argument.kind, at: base + 72 + UInt64(i))
            try memory.store(argument.length, at: base + 80 + UInt64(8 * i))
        }
        let request = try #require(memory.pointer(at: base, count: EscapeRequest.size))
        return EscapeRequest.decode(request, in: memory)
    }

    static func host(_ memory: GuestMemory, _ address: UInt64) -> Int { Int(bitPattern: memory.base + Int(address)) }

    @Test func rangeEndingOnTheLastByteOfRAMIsTranslated() throws {
        let memory = try GuestMemory(size: Self.ramSize)
        let size = UInt64(Self.ramSize)
        #expect(EscapeRequest.hostAddress(size - 1, length: 1, in: memory) == memory.base + Self.ramSize - 1)
        #expect(EscapeRequest.hostAddress(0, length: size, in: memory) == memory.base)
        #expect(EscapeRequest.hostAddress(size - 16, length: 16, in: memory) == memory.base + Self.ramSize - 16)
    }

    @Test func rangeReachingPastRAMIsRefused() throws {
        let memory = try GuestMemory(size: Self.ramSize)
        let size = UInt64(Self.ramSize)
        #expect(EscapeRequest.hostAddress(size - 1, length: 2, in: memory) == nil)  // one byte past the end
        #expect(EscapeRequest.hostAddress(size, length: 1, in: memory) == nil)
        #expect(EscapeRequest.hostAddress(0, length: size + 1, in: memory) == nil)
        #expect(EscapeRequest.hostAddress(0xD000_0000, length: 4, in: memory) == nil)  // the virtio window: not RAM
    }

    @Test func emptyRangeIsRefusedEvenInsideRAM() throws {
        // At the end of RAM an empty range's address would be the first host byte after the
        // mapping; the kernel takes its length from the call, not from us.
        let memory = try GuestMemory(size: Self.ramSize)
        #expect(EscapeRequest.hostAddress(0x1000, length: 0, in: memory) == nil)
        #expect(EscapeRequest.hostAddress(UInt64(Self.ramSize), length: 0, in: memory) == nil)
    }

    @Test func rangeThatWrapsAroundIsRefused() throws {
        let memory = try GuestMemory(size: Self.ramSize)
        #expect(EscapeRequest.hostAddress(UInt64.max, length: 2, in: memory) == nil)  // address + length wraps to 1
        #expect(EscapeRequest.hostAddress(0x1000, length: UInt64.max - 0xFFF + 1, in: memory) == nil)  // wraps to 0
        #expect(EscapeRequest.hostAddress(1, length: UInt64.max, in: memory) == nil)
        #expect(EscapeRequest.hostAddress(0, length: UInt64(Int.max) + 1, in: memory) == nil)  // not an Int: no trap
        #expect(EscapeRequest.hostAddress(0, length: UInt64.max, in: memory) == nil)
    }

    @Test func numbersPassUnchangedAndPointersBecomeHostAddresses() throws {
        let memory = try GuestMemory(size: Self.ramSize)
        try memory.write(Array("/etc/passwd\0".utf8), at: 0x2000)
        let decoded = try Self.decode(memory, number: 257, [.number(-100), .string(0x2000, 12), .number(0), .bytes(0x3000, 16), .number(Int.min), .number(-1)])
        let call = try decoded.get()
        #expect(call.number == 257)
        #expect(call.arguments == [-100, Self.host(memory, 0x2000), 0, Self.host(memory, 0x3000), Int.min, -1])
    }

    @Test func stringMustHoldItsNULInsideItsLength() throws {
        let memory = try GuestMemory(size: Self.ramSize)
        try memory.write(Array("abcd\0".utf8), at: 0x2000)
        #expect(try Self.decode(memory, [.number(1), .string(0x2000, 5)]).get().arguments[1] == Self.host(memory, 0x2000))
        // The NUL one byte after the declared range does not count: the kernel would read it.
        #expect(throws: EscapeRequest.Refusal(answer: .stringWithoutNUL, argument: 1)) {
            try Self.decode(memory, [.number(1), .string(0x2000, 4)]).get()
        }
    }

    @Test func stringAtTheEndOfRAMWithoutNULIsRefused() throws {
        // The kernel would read on past guest RAM into whatever host memory follows it.
        let memory = try GuestMemory(size: Self.ramSize)
        let end = UInt64(Self.ramSize)
        try memory.write([UInt8](repeating: 0x41, count: 8), at: end - 8)
        #expect(throws: EscapeRequest.Refusal(answer: .stringWithoutNUL, argument: 0)) {
            try Self.decode(memory, [.string(end - 8, 8)]).get()
        }
        try memory.store(UInt8(0), at: end - 1)
        #expect(try Self.decode(memory, [.string(end - 8, 8)]).get().arguments[0] == Self.host(memory, end - 8))
    }

    @Test func firstBadPointerIsNamedAndNothingElseDecoded() throws {
        let memory = try GuestMemory(size: Self.ramSize)
        let refused = EscapeRequest.Refusal(answer: .pointerOutsideMemory, argument: 2)
        #expect(throws: refused) {
            try Self.decode(memory, [.bytes(0x2000, 8), .number(5), .bytes(UInt64(Self.ramSize) - 4, 8), .bytes(UInt64.max, 2)]).get()
        }
        #expect(throws: EscapeRequest.Refusal(answer: .pointerOutsideMemory, argument: 5)) {
            try Self.decode(memory, [.number(0), .number(0), .number(0), .number(0), .number(0), .bytes(0x2000, 0)]).get()
        }
    }

    @Test func unknownArgumentKindIsRefused() throws {
        let memory = try GuestMemory(size: Self.ramSize)
        #expect(throws: EscapeRequest.Refusal(answer: .unknownKind, argument: 3)) {
            try Self.decode(memory, [.number(0), .number(0), .number(0), Argument(value: 0x2000, kind: 3, length: 1)]).get()
        }
        #expect(throws: EscapeRequest.Refusal(answer: .unknownKind, argument: 0)) {
            try Self.decode(memory, [Argument(value: 0, kind: 0xFF, length: 0)]).get()
        }
    }

    @Test func answerWritesResultAndDoneWhereTheGuestReadsThem() throws {
        let memory = try GuestMemory(size: Self.ramSize)
        let request = try #require(memory.pointer(at: Self.requestAddress, count: EscapeRequest.size))
        EscapeRequest.answer(request, .performed, result: -101)
        #expect(try memory.load(Int64.self, at: Self.requestAddress + 56) == -101)
        #expect(try memory.load(UInt32.self, at: Self.requestAddress + 64) == 1)
        EscapeRequest.answer(request, .stringWithoutNUL, result: 4)
        #expect(try memory.load(Int64.self, at: Self.requestAddress + 56) == 4)
        #expect(try memory.load(UInt32.self, at: Self.requestAddress + 64) == 3)
    }
}
