/// What one fuzz input did to the code under test. Any trap (a failed `check`, an array
/// index out of range, an overflow) is a finding; these two are the normal answers.
public enum FuzzOutcome: Equatable, Sendable {
    case accepted
    /// The production code refused the input; the reason is its own error text.
    case refused(String)
}

/// One input surface: its name (the libFuzzer executable `fuzz-NAME` and the corpus
/// folder Tests/FuzzInputs/NAME) and the entry both the fuzzer and `FuzzInputTests` call.
public struct FuzzTarget: Sendable {
    public let name: String
    public let entry: @Sendable ([UInt8]) -> FuzzOutcome

    public init(_ name: String, _ entry: @escaping @Sendable ([UInt8]) -> FuzzOutcome) {
        self.name = name
        self.entry = entry
    }

    public static let all: [FuzzTarget] = [
        FuzzTarget("protocol-decoder", ProtocolDecoderEntry.run),
        FuzzTarget("protocol-server", ProtocolServerEntry.run),
        FuzzTarget("block-path", BlockPathEntry.run),
        FuzzTarget("elf-loader", KernelLoaderEntry.elf),
        FuzzTarget("bzimage-loader", KernelLoaderEntry.bzImage),
        FuzzTarget("virtqueue", VirtqueueEntry.run),
        FuzzTarget("run-options", RunOptionsEntry.run),
        FuzzTarget("helper-arguments", HelperArgumentsEntry.run),
        FuzzTarget("helper-config-file", HelperConfigFileEntry.run),
        FuzzTarget("worker-reports", WorkerReportsEntry.run),
        FuzzTarget("control-requests", ControlRequestsEntry.run),
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// An invariant of the code under test; a violation traps, which the fuzzer reports as a
/// crash with the input that caused it. (precondition is kept in release builds too.)
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    precondition(condition, message())
}

/// Bytes as the String a command line or a file would give Swift (invalid UTF-8 repaired).
func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
