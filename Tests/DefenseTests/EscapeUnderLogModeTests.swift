import Foundation
import Testing

/// With the filters in `log` mode (insecure, test only: every forbidden call is let through
/// and recorded), what the guest can still not do through the escape probe is what the
/// uid, namespaces and limits stop on their own.
@Suite(.serialized) struct EscapeUnderLogModeTests {
    /// `escape NAME on vcpu = RESULT` from the guest.
    static func result(_ output: String, _ call: String) -> Int? {
        output.split(separator: "\n").first { $0.hasPrefix("escape \(call) on vcpu = ") }
            .flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    static func run(_ steps: String) throws -> (status: Int32, output: String, errors: String) {
        try DefenseRun(
            name: DefenseRun.uniqueName("escape"),
            ["--seccomp", "log", "--device", "escape-probe", "--cmdline", steps]
        ).finish()
    }

    @Test func workerCannotSeeOrSignalAHostProcess() throws {
        // The worker is PID 1 of its own PID namespace: pid 1 is itself, and a host pid (this
        // test process's) does not exist there (ESRCH, -3).
        let run = try Self.run("escape=kill,\(getpid()),0 escape=getpid poweroff")
        #expect(run.status == 0, "\(run.errors)")
        #expect(Self.result(run.output, "kill") == -3, "\(run.output)")
        #expect(Self.result(run.output, "getpid") == 1, "\(run.output)")
    }

    @Test func workerCannotStartAProcess() throws {
        // fork under the filters in log mode reaches the kernel; RLIMIT_NPROC answers EAGAIN (-11).
        let run = try Self.run("escape=fork poweroff")
        #expect(run.status == 0, "\(run.errors)")
        #expect(Self.result(run.output, "fork") == -11, "\(run.output)")
    }
}
