import Foundation
import Sandbox
import TestSupport

/// How a run of `bulkhead-syscall-probe` ended.
struct ProbeOutcome: CustomStringConvertible {
    enum End: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }
    let end: End
    let stdout: String
    let stderr: String

    var killedBySIGSYS: Bool { end == .signaled(SIGSYS) }
    /// The raw value the probe's call returned, if it survived to print it.
    var result: Int? {
        stdout.split(separator: "\n").first { $0.hasPrefix("result=") }.flatMap { Int($0.dropFirst(7)) }
    }
    var trapReport: ForbiddenCallReport? {
        stderr.split(separator: "\n").lazy.compactMap {
            ForbiddenCallReport.parseTrapReport($0, process: "probe")
        }.first
    }
    var description: String { "\(end) stdout=\(stdout.debugDescription) stderr=\(stderr.debugDescription)" }
}

/// Runs the probe beside the test binary with the given arguments.
/// Its pid is available to `onStart` (e.g. for reading its kernel record afterwards).
func runProbe(_ arguments: [String], onStart: (Int32) -> Void = { _ in }) throws -> ProbeOutcome {
    let process = Process()
    process.executableURL = BuiltProducts.url("bulkhead-syscall-probe")
    process.arguments = arguments
    process.environment = ["SWIFT_BACKTRACE": "enable=no"]
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    onStart(process.processIdentifier)
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let end: ProbeOutcome.End =
        process.terminationReason == .uncaughtSignal
        ? .signaled(process.terminationStatus) : .exited(process.terminationStatus)
    return ProbeOutcome(
        end: end, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

/// The probe invocation for one role, mode and ABI.
func probeArguments(
    role: Role, mode: FilterMode = .kill, abi: SyscallABI = .native, call: String, arguments: [String]
) -> [String] {
    ["--role", role.rawValue, "--mode", mode.rawValue, "--abi", abi.rawValue, call] + arguments
}
