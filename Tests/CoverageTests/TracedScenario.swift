import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import TestSupport

/// Runs one scenario under `strace -f -ff` and returns the trace, one text per thread.
/// strace, because it follows every child (clone3 with CLONE_INTO_CGROUP too) and thread,
/// names each file by host tid (--pidns-translation maps the worker's own pid namespace),
/// shows PR_SET_NAME and the seccomp loads, and prints the argument words the rules compare
/// (`-e raw=…`, `-X raw`); only the calls it must decode for the replay are decoded.
struct TracedScenario {
    static let strace = ["/usr/bin/strace", "-f", "-ff", "-qq", "-X", "raw", "--pidns-translation", "-y",
        "-e", "raw=!prctl,execve,execveat,clone,clone3"]
    static let bulkhead = BuiltProducts.path("bulkhead")
    /// Whether `bulkhead run` knows --allow-insecure (insecure modes opt-in, issue 13 §3).
    static let hasAllowInsecure: Bool = {
        (try? runToEnd(bulkhead, ["run", "--help"]).output.contains("--allow-insecure")) ?? false
    }()

    let scenario: CoverageScenario
    let fixture: CoverageFixture
    /// `log`: every filter in log mode (the drift run); nil: as the scenario says (kill).
    let seccomp: String?

    func trace() throws -> [Int: String] {
        let output = "\(fixture.directory)/trace-\(scenario.name)-\(seccomp ?? "kill")"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let command = Self.strace + ["-o", "\(output)/t"]
        switch scenario.kind {
        case .vm(let arguments, let action):
            try runVM(command, arguments, wrapper: [], action)
        case .vmWithoutCgroup(let arguments, let action):
            let unmount = "umount -l /sys/fs/cgroup && exec \"$0\" \"$@\""
            try runVM(command, arguments, wrapper: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", unmount], action)
        case .helper(let program, let arguments, let requests):
            try runHelper(command, program, fixture.fill(arguments), requests)
        }
        var threads: [Int: String] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: output) {
            guard let tid = Int(file.split(separator: ".").last ?? "") else { continue }
            threads[tid] = try String(contentsOfFile: "\(output)/\(file)", encoding: .utf8)
        }
        return threads
    }

    private var vmName: String { "cov-\(scenario.name)-\(getpid())" }

    private func runVM(_ command: [String], _ arguments: [String], wrapper: [String], _ action: CoverageScenario.Action) throws {
        var run = ["run", "--name", vmName] + fixture.fill(arguments)
        if let seccomp, !run.contains("--seccomp") { run += ["--seccomp", seccomp] }
        if (scenario.insecure || seccomp == "log") && Self.hasAllowInsecure { run.append("--allow-insecure") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + wrapper + [Self.bulkhead] + run
        process.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SWIFT_BACKTRACE": "enable=no"]
        let log = FileHandle(forWritingAtPath: "/dev/null")
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        if case .none = action {} else if let pids = waitUntilConfined(process) {
            switch action {
            case .none: break
            case .signalParent(let signal): kill(pids["parent"] ?? 0, signal)
            case .kill(let role): kill(pids[role] ?? 0, SIGKILL)
            case .ctl(let commands):
                for command in commands {
                    // `console …`: `bulkhead console … NAME` on /dev/null (attach, detach once the output settled).
                    if command.first == "console" {
                        _ = try? runToEnd("/bin/sh", ["-c", #"exec "$0" "$@" </dev/null"#, Self.bulkhead] + command + [vmName])
                    } else {
                        _ = try? runToEnd(Self.bulkhead, ["ctl", vmName] + command)
                    }
                }
            case .stopAndContinue:
                let all = pids.values
                for pid in all { kill(pid, SIGSTOP) }
                usleep(300_000)
                for pid in all { kill(pid, SIGCONT) }
            case .freezeWorkerThenSignalParent:
                kill(pids["worker"] ?? 0, SIGSTOP)
                kill(pids["parent"] ?? 0, SIGTERM)
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// role → pid from the VM's registry entry once every worker thread has its filters
    /// (vcpu0 with two: worker-base and its own).
    private func waitUntilConfined(_ process: Process) -> [String: Int32]? {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && process.isRunning {
            if let text = try? String(contentsOfFile: "/run/bulkhead/\(vmName)/processes", encoding: .utf8) {
                var pids: [String: Int32] = [:]
                for line in text.split(separator: "\n") {
                    let fields = line.split(separator: " ")
                    if fields.count >= 2, fields[0] != "uid", let pid = Int32(fields[1]) { pids[String(fields[0])] = pid }
                }
                if let worker = pids["worker"], Self.vcpu0IsConfined(worker) { return pids }
            }
            usleep(20_000)
        }
        return nil
    }

    private static func vcpu0IsConfined(_ worker: Int32) -> Bool {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker)/task")) ?? []
        return tasks.contains { tid in
            guard let status = try? String(contentsOfFile: "/proc/\(worker)/task/\(tid)/status", encoding: .utf8) else { return false }
            return status.contains("Name:\tvcpu0\n") && status.contains("Seccomp_filters:\t2\n")
        }
    }

    private func runHelper(_ command: [String], _ program: String, _ arguments: [String], _ requests: CoverageScenario.HelperRequests) throws {
        let (ours, theirs) = try SeqPacketSocket.pair()
        try ours.setReceiveTimeout(microseconds: 20_000_000)
        let words: [String] = command + [BuiltProducts.path(program), "--socket-fd", "3"]
            + (seccomp.map { ["--seccomp", $0] } ?? []) + arguments
        let spawned = spawnQuietly(words, environment: ["SWIFT_BACKTRACE=enable=no"], fd3: theirs.fileDescriptor.rawValue)
        theirs.close()
        let child = try spawned.get()
        let client = RequestClient(socket: ours)
        _ = try client.hello()
        let stray = try FileDescriptor.open("/dev/null", .readOnly, options: .closeOnExec)
        defer { try? stray.close() }
        func ask<R: RequestMessage>(_ request: R, fds: [FileDescriptor] = []) {
            (try? client.call(request, fds: fds))?.fds.forEach { try? $0.close() }
        }
        switch requests {
        case .block:
            ask(BlockOpenRequest(path: fixture.disk, access: .readOnly))
            ask(BlockOpenRequest(path: fixture.disk, access: .readWrite))  // declared ro: refused
            ask(BlockOpenRequest(path: "/etc/shadow", access: .readOnly))  // undeclared
            ask(BlockOpenRequest(path: fixture.disk, access: .readOnly), fds: [stray])  // an fd it must close
            _ = try? client.call(command: CommandCatalog.blockOpen, body: [0xFF])
        case .net:
            ask(NetOpenTapRequest(name: fixture.tap))
            ask(NetOpenTapRequest(name: "bhnotdeclared0"))
            ask(NetOpenTapRequest(name: fixture.tap), fds: [stray])
            _ = try? client.call(command: CommandCatalog.netOpenTap, body: [0xFF])
        case .exec:
            ask(ExecRunHookRequest(hook: "up", arguments: []))
            ask(ExecRunHookRequest(hook: "nothere", arguments: []))
            ask(ExecRunHookRequest(hook: "up", arguments: ["extra"]))  // requests may not add arguments
            ask(ExecRunHookRequest(hook: "up", arguments: []), fds: [stray])
            _ = try? client.call(command: CommandCatalog.execRunHook, body: [0xFF])
        }
        try? ours.send([0xDE, 0xAD, 0xBE, 0xEF])  // not even a header
        _ = try? ours.receive()
        _ = try? client.hello()  // still serving
        ours.close()  // hang up: the helper ends
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(20)
        while waitpid(child, &status, WNOHANG) == 0 {
            if Date() > deadline { kill(child, SIGKILL) }
            usleep(10_000)
        }
    }
}
