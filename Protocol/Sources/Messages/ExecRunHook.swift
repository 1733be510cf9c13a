/// `exec.run-hook`: a declared hook's name and the arguments asked for (the exec helper
/// accepts only the declared ones).
public struct ExecRunHookRequest: RequestMessage, Equatable {
    public typealias Reply = ExecRunHookReply
    public static let command = CommandCatalog.execRunHook
    public var hook: String
    public var arguments: [String]

    public init(hook: String, arguments: [String]) {
        self.hook = hook
        self.arguments = arguments
    }

    public func encode(into w: inout BodyWriter) {
        w.string(hook)
        w.strings(arguments)
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        hook = try r.string("hook")
        arguments = try r.strings("args")
    }
}

/// `exec.run-hook` reply: how the hook ended and its (capped) output.
public struct ExecRunHookReply: BodyCodable, Equatable {
    /// exit(3) status, or -1 when a signal ended it.
    public var exitStatus: Int32
    /// The signal that ended it, or 0.
    public var signal: Int32
    /// At most `ProtocolLimits.maxFieldLength` bytes of standard output.
    public var stdout: [UInt8]
    /// More output was produced than `stdout` holds.
    public var truncated: Bool
    /// The hook ran past its time limit and was killed.
    public var timedOut: Bool

    public init(exitStatus: Int32, signal: Int32, stdout: [UInt8], truncated: Bool, timedOut: Bool) {
        self.exitStatus = exitStatus
        self.signal = signal
        self.stdout = stdout
        self.truncated = truncated
        self.timedOut = timedOut
    }

    /// A reply whose output is cut to the protocol's field limit: `truncated` is set when
    /// the hook wrote more than fits (or the runner already cut it).
    public static func capping(
        exitStatus: Int32, signal: Int32, output: [UInt8], truncated: Bool, timedOut: Bool
    ) -> ExecRunHookReply {
        let limit = ProtocolLimits.maxFieldLength
        return ExecRunHookReply(
            exitStatus: exitStatus, signal: signal, stdout: Array(output.prefix(limit)),
            truncated: truncated || output.count > limit, timedOut: timedOut)
    }

    public func encode(into w: inout BodyWriter) {
        w.i32(exitStatus)
        w.i32(signal)
        w.bytes(stdout)
        w.bool(truncated)
        w.bool(timedOut)
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        exitStatus = try r.i32("exit_status")
        signal = try r.i32("signal")
        stdout = try r.bytes("stdout")
        truncated = try r.bool("truncated")
        timedOut = try r.bool("timed_out")
    }
}
