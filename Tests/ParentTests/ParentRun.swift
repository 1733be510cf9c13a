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
        // Sendable: each collected buffer is written by its reader thread only, and read
        // after `done` is signalled.
        let process = Process()
        private let out = Pipe()
        private let err = Pipe()
        private var outData = Data()
        private var errData = Data()
        private let done = DispatchGroup()

        /// `environment`: added to this process's own (e.g. BULKHEAD_RUNTIME_DIR).
        init(_ arguments: [String], executable: String = ParentRun.executable, environment: [String: String] = [:]) throws {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            if !environment.isEmpty {
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            }
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
            // Blocking reads to EOF on their own threads: no readabilityHandler races.
            DispatchQueue.global().async(group: done) { self.outData = self.out.fileHandleForReading.readDataToEndOfFile() }
            DispatchQueue.global().async(group: done) { self.errData = self.err.fileHandleForReading.readDataToEndOfFile() }
        }

        var pid: Int32 { process.processIdentifier }

        /// Waits for the exit (SIGKILL after `timeout` seconds) and collects everything.
        func finish(timeout: Double = 60) -> ParentRun {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            _ = done.wait(timeout: .now() + 15)  // a leftover child would hold the pipes open
            return ParentRun(
                pid: process.processIdentifier, status: process.terminationStatus,
                output: String(decoding: outData, as: UTF8.self), errors: String(decoding: errData, as: UTF8.self),
                signaled: process.terminationReason == .uncaughtSignal)
        }
    }

    static func run(_ arguments: [String], timeout: Double = 60, environment: [String: String] = [:]) throws -> ParentRun {
        try Running(arguments, environment: environment).finish(timeout: timeout)
    }

    /// Runs `sh -c 'exec bulkhead ARGUMENTS'`: the shell's `$$` in an argument is then the
    /// pid `bulkhead` will have (exec keeps it), so a guest step can name its own parent.
    static func runWithOwnPid(_ arguments: String, timeout: Double = 60) throws -> ParentRun {
        try Running(["-c", "exec '\(executable)' \(arguments)"], executable: "/bin/sh").finish(timeout: timeout)
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
