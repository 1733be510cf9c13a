import Foundation
import ProcessInspection
import TestSupport

/// Drives the real `bulkhead` (built beside the test binary) for the defense tests, and reads
/// the runtime registry (VMRegistry's format) to find a VM's processes.
struct DefenseRun {
    static let directory: URL = {
        var url = Bundle.main.bundleURL
        while url.path.contains(".xctest") { url.deleteLastPathComponent() }
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("bulkhead").path) { return url }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }()

    static var executable: String { directory.appendingPathComponent("bulkhead").path }

    let process = Process()
    let name: String
    /// The registry this run writes to.
    let root: String
    private let out = Pipe()
    private let err = Pipe()

    /// Starts `bulkhead run --name NAME ARGUMENTS` (stdout and stderr captured); with `through`,
    /// that command line is appended to it (a wrapper that ends by exec'ing it, so the
    /// process is the parent).
    /// `environment` is added to this process's (e.g. a private BULKHEAD_RUNTIME_DIR).
    init(name: String, _ arguments: [String], through wrapper: [String] = [], environment: [String: String] = [:]) throws {
        self.name = name
        root = environment["BULKHEAD_RUNTIME_DIR"] ?? Self.runtimeRoot
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let command = [Self.executable, "run", "--name", name] + arguments
        process.executableURL = URL(fileURLWithPath: (wrapper + command)[0])
        process.arguments = Array((wrapper + command).dropFirst())
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// A unique VM name for this test process.
    static func uniqueName(_ label: String) -> String { "dt-\(label)-\(getpid())-\(Int.random(in: 0..<1_000_000))" }

    /// The registry entry's processes (role → pid), once `roles` are all there and every
    /// worker thread is confined (2 filters: the main thread stacks control's after it started
    /// the others, so vcpu0 alone is not enough), or nil after `timeout` seconds.
    func waitUntilRunning(roles: Set<String>, timeout: Double = 20) -> [String: Int32]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            if let entry = Self.registry(name, root: root), roles.isSubset(of: Set(entry.keys)), let worker = entry["worker"],
                let snapshot = ProcessSnapshot(pid: worker),
                snapshot.threads.contains(where: { $0.status.name == "vcpu0" }),
                snapshot.threads.allSatisfy({ ($0.status.seccompFilters ?? 0) >= 2 })
            {
                return entry
            }
            usleep(50_000)
        }
        return nil
    }

    static var runtimeRoot: String { ProcessInfo.processInfo.environment["BULKHEAD_RUNTIME_DIR"] ?? "/run/bulkhead" }

    /// role → pid from /run/bulkhead/NAME/processes (`parent PID START`, `uid N`, `ROLE PID`).
    static func registry(_ name: String, root: String = runtimeRoot) -> [String: Int32]? {
        guard let text = try? String(contentsOfFile: "\(root)/\(name)/processes", encoding: .utf8) else { return nil }
        var found: [String: Int32] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, fields[0] != "uid", let pid = Int32(fields[1]) { found[String(fields[0])] = pid }
        }
        return found
    }

    /// Waits for the end (SIGKILL after `timeout`), returns status, stdout, stderr.
    func finish(timeout: Double = 60) -> (status: Int32, output: String, errors: String) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, output, errors)
    }

    /// Runs `bulkhead ARGUMENTS` to its end, its output through temporary files (a pipe read
    /// to EOF would also wait for any process that inherited the pipe).
    /// `environment` is set for it (e.g. a private BULKHEAD_RUNTIME_DIR).
    static func command(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String, errors: String) {
        let assignments = environment.isEmpty ? [] : ["env"] + environment.map { "\($0.key)=\($0.value)" }
        return try runToEnd(assignments + [executable] + arguments)
    }

    /// Runs `bulkhead-worker ARGUMENTS` alone, /dev/kvm as its fd 3. Without the parent no
    /// identity is named (BULKHEAD_RUN_AS), so the worker keeps this process's uid, root,
    /// PID and network namespaces (Sources/Worker/WorkerDefense.swift): the reference that
    /// shows what the defences stop.
    static func bareWorker(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let worker = directory.appendingPathComponent("bulkhead-worker").path
        return try runToEnd(["env", "-u", "BULKHEAD_RUN_AS", "SWIFT_BACKTRACE=enable=no", worker, "--kvm-fd", "3"] + arguments, redirect: "3<>/dev/kvm")
    }

    private static func runToEnd(_ command: [String], redirect: String = "") throws -> (status: Int32, output: String, errors: String) {
        let base = NSTemporaryDirectory() + "bulkhead-defense-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        defer { unlink(base + ".out"); unlink(base + ".err") }
        // system(3) waits for this one child only: Foundation's Process.waitUntilExit was seen
        // to return only once the VM started by another Process had ended.
        let quoted = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let status = system(quoted.joined(separator: " ") + " >\(base).out 2>\(base).err </dev/null \(redirect)")
        let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        return ((status >> 8) & 0xFF, output, errors)
    }

    /// The namespaces a private one must differ from: PID 1's, or ours when /proc/1/ns is unreadable.
    static var hostNamespaces: [String: String] {
        Dictionary(uniqueKeysWithValues: ProcFS.hostNamespaces().namespaces.map { ($0.kind, $0.id) })
    }

}
