/// The console messages of the control socket (CommandCatalog `console`, `console.read`,
/// `console.write`): a connection attaches once, then reads what the guest writes and
/// writes what the guest reads, each as a request with its reply.

/// `console.read` reply: the guest's UART output since the previous read (never empty).
/// What a client does not read in time is lost in the worker, as on a serial line.
public struct ConsoleOutputReply: BodyCodable, Equatable {
    /// The most one reply carries: one field's limit.
    public static let maxOutput = ProtocolLimits.maxFieldLength
    public var output: [UInt8]
    public init(output: [UInt8]) { self.output = output }
    public func encode(into w: inout BodyWriter) { w.bytes(output) }
    public init(from r: inout BodyReader) throws(ProtocolError) { output = try r.bytes("output") }
}

/// `console.write` request: bytes for the guest's receiver (at most one field, 4096 bytes).
public struct ConsoleWriteRequest: RequestMessage, Equatable {
    public typealias Reply = ConsoleWriteReply
    public static let command = CommandCatalog.consoleWrite
    public var input: [UInt8]
    public init(input: [UInt8]) { self.input = input }
    public func encode(into w: inout BodyWriter) { w.bytes(input) }
    public init(from r: inout BodyReader) throws(ProtocolError) { input = try r.bytes("input") }
}

/// `console.write` reply: how many of the bytes were taken, from the first; the rest were
/// not (the guest has not read what waits), and the client sends them again later.
public struct ConsoleWriteReply: BodyCodable, Equatable {
    public var taken: UInt32
    public init(taken: UInt32) { self.taken = taken }
    public func encode(into w: inout BodyWriter) { w.u32(taken) }
    public init(from r: inout BodyReader) throws(ProtocolError) { taken = try r.u32("taken") }
}
