import Foundation
import TestSupport

/// A VM started with `--name` in a private registry (BULKHEAD_RUNTIME_DIR) with its console
/// in a file, so a test can drive it with `bulkhead ctl` while it runs and read what the
/// guest printed so far. Unique per test: the pid and a counter are in every name.
final class ControlledVM {
    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()

    let name: String
    let runtime: String
    let console: String
    let run: ParentRun.Running
    var environment: [String: String] { ["BULKHEAD_RUNTIME_DIR": runtime] }
    var socketPath: String { "\(runtime)/\(name)/control" }

    /// `arguments` after `run --name NAME --console FILE` (and, as root, a private uid range).
    init(_ label: String, _ arguments: [String]) throws {
        let n = Self.lock.withLock {
            Self.counter += 1
            return Self.counter
        }
        name = "ctl-\(label)-\(getpid())-\(n)"
        runtime = NSTemporaryDirectory() + "bulkhead-ctl-\(getpid())-\(n)"
        console = runtime + ".console"
        try? FileManager.default.removeItem(atPath: runtime)
        // 0755: a client under another uid (the peer-credential tests) must reach the socket.
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        var all = ["run", "--name", name, "--console", console]
        if geteuid() == 0 {
            let uid = 500_000 + (Int(getpid()) % 50_000) * 8 + n % 8
            all += ["--uid-range", "\(uid)-\(uid)"]
        }
        run = try ParentRun.Running(all + arguments, environment: ["BULKHEAD_RUNTIME_DIR": runtime])
    }

    deinit {
        try? FileManager.default.removeItem(atPath: runtime)
        try? FileManager.default.removeItem(atPath: console)
    }

    /// Waits (10 s at most) until the control socket exists and answers `info`.
    func waitUntilServing() -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: socketPath), (try? ctl(["info"]))?.status == 0 { return true }
            usleep(20_000)
        }
        return false
    }

    /// `bulkhead ctl NAME ARGUMENTS`, optionally through `setpriv` as another identity.
    /// Through system(3), which waits for this one child only: Foundation's
    /// Process.waitUntilExit was seen to return only once the VM started by another Process
    /// had ended (DefenseRun does the same). Output and errors together.
    func ctl(_ arguments: [String], setpriv: [String]? = nil) throws -> (status: Int32, output: String) {
        let command = (setpriv.map { ["/usr/bin/setpriv"] + $0 } ?? []) + [ParentRun.executable, "ctl", name] + arguments
        let out = runtime + ".ctl-\(Int.random(in: 0..<1_000_000))"
        defer { unlink(out) }
        let quoted = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let status = system("BULKHEAD_RUNTIME_DIR='\(runtime)' " + quoted.joined(separator: " ") + " >\(out) 2>&1 </dev/null")
        return ((status >> 8) & 0xFF, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    /// `sh -c SCRIPT` with $B the `bulkhead` executable and $N the VM's name, in the VM's
    /// registry; through system(3) as `ctl` is. Output and errors together.
    func shell(_ script: String) -> (status: Int32, output: String) {
        let out = runtime + ".sh-\(Int.random(in: 0..<1_000_000))"
        defer { unlink(out) }
        let quoted = "'" + script.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let status = system(
            "BULKHEAD_RUNTIME_DIR='\(runtime)' B='\(ParentRun.executable)' N='\(name)' /bin/sh -c \(quoted) >\(out) 2>&1 </dev/null")
        return ((status >> 8) & 0xFF, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    /// The guest's console lines so far.
    var consoleLines: [String] {
        ((try? String(contentsOfFile: console, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The `tick N` numbers printed so far.
    var ticks: [Int] { consoleLines.compactMap { $0.hasPrefix("tick ") ? Int($0.dropFirst(5)) : nil } }

    /// Waits until the guest printed at least `count` ticks (10 s at most).
    func waitForTicks(_ count: Int) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if ticks.count >= count { return true }
            usleep(10_000)
        }
        return false
    }

    func finish(timeout: Double = 30) -> ParentRun { run.finish(timeout: timeout) }
}
