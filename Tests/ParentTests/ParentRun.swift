import Foundation
import Testing

/// One run of the real `bulkhead` executable (built beside the test binary), with stdout
/// and stderr captured. Every child the parent starts carries BULKHEAD_RUN=<parent pid> in
/// its environment, which is how `survivors` finds what a run might have left behind.
struct ParentRun {
    let pid: Int32
    let status: Int32
    let output: String
    let errors: String
    /// Set when the process ended by a signal instead of exiting.
    let signaled: Bool

    var lines: [Substring] { output.split(separator: "\n") }

    /// The directory holding `bulkhead`, `bulkhead-worker` and the helpers.
    static let directory: URL = {
        var url = Bundle.main.bundleURL
        while url.path.contains(".xctest") { url.deleteLastPathComponent() }
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("bulkhead").path) { return url }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }()

    static var executable: String { directory.appendingPathComponent("bulkhead").path }

    /// A started, not yet finished run: for tests that act on it while the guest runs.
    final class Running: @unchecked Sendable {
        // Sendable: the captured output is only touched under `lock`.

        let process = Process()
        let out = Pipe()
        let err = Pipe()
        private var outData = Data()
        private var errData = Data()
        private let lock = NSLock()

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: ParentRun.executable)
            process.arguments = arguments
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            out.fileHandleForReading.readabilityHandler = { [weak self] h in
                let d = h.availableData
                self?.lock.withLock { self?.outData.append(d) }
            }
            err.fileHandleForReading.readabilityHandler = { [weak self] h in
                let d = h.availableData
                self?.lock.withLock { self?.errData.append(d) }
            }
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }
        var outputSoFar: String { lock.withLock { String(decoding: outData, as: UTF8.self) } }

        /// Waits for the exit (SIGKILL after `timeout` seconds) and collects everything.
        func finish(timeout: Double = 60) -> ParentRun {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            // Drain what is still in the pipes.
            out.fileHandleForReading.readabilityHandler = nil
            err.fileHandleForReading.readabilityHandler = nil
            let restOut = out.fileHandleForReading.readDataToEndOfFile()
            let restErr = err.fileHandleForReading.readDataToEndOfFile()
            return lock.withLock {
                outData.append(restOut)
                errData.append(restErr)
                return ParentRun(
                    pid: process.processIdentifier, status: process.terminationStatus,
                    output: String(decoding: outData, as: UTF8.self), errors: String(decoding: errData, as: UTF8.self),
                    signaled: process.terminationReason == .uncaughtSignal)
            }
        }
    }

    static func run(_ arguments: [String], timeout: Double = 60) throws -> ParentRun {
        try Running(arguments).finish(timeout: timeout)
    }

    /// Processes started by the run whose parent had `pid` (found by their environment).
    static func children(of pid: Int32) -> [Int32] {
        let marker = Array("BULKHEAD_RUN=\(pid)".utf8)
        var found: [Int32] = []
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let candidate = Int32(entry), candidate != getpid() else { continue }
            guard let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            for variable in environ.split(separator: 0) where Array(variable) == marker {
                found.append(candidate)
            }
        }
        return found
    }

    /// What is left of this run: the parent itself or any process it started.
    var survivors: [Int32] {
        var left = ParentRun.children(of: pid)
        if FileManager.default.fileExists(atPath: "/proc/\(pid)/environ"),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8), stat.contains("bulkhead")
        {
            left.append(pid)
        }
        return left
    }

    /// A name of an executable or thread of a pid, from /proc/PID/comm.
    static func comm(_ pid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
