import Sandbox
import Testing

/// Filters stack per thread: each thread role narrows the process filter for itself only,
/// and nothing loaded later can widen what a thread may do.
@Suite struct StackingTests {
    @Test func callAllowedToIoKillsFromVcpuThreadOfTheSameProcess() throws {
        #expect(Role.io.answer(for: "fdatasync", arguments: [.max]) != nil)
        #expect(Role.vcpu.answer(for: "fdatasync", arguments: [.max]) == nil)
        let fromIo = try runProbe(["--role", "io", "--also-thread", "vcpu", "fdatasync", "-1"])
        #expect(fromIo.end == .exited(0) && fromIo.result == -9, "io thread: \(fromIo)")  // EBADF
        let fromVcpu = try runProbe(["--role", "vcpu", "--also-thread", "io", "fdatasync", "-1"])
        #expect(fromVcpu.killedBySIGSYS, "vcpu thread: \(fromVcpu)")
    }

    @Test func permissiveFilterLoadedOnTopChangesNothing() throws {
        let outcome = try runProbe(["--role", "worker-base", "--load-permissive", "socket", "1", "1", "0"])
        #expect(outcome.killedBySIGSYS, "\(outcome)")
    }

    @Test func threadRoleCannotLoadAnotherFilter() throws {
        let outcome = try runProbe(["--role", "vcpu", "--load-permissive", "gettid"])
        #expect(outcome.killedBySIGSYS, "\(outcome)")
    }

    @Test func clone3AnswersENOSYSAndThreadsStillStart() throws {
        let clone3 = try runProbe(["--role", "worker-base", "clone3", "-1", "-1"])
        #expect(clone3.end == .exited(0) && clone3.result == -38, "\(clone3)")
        // Every thread-role probe starts its thread with pthread_create under worker-base:
        // glibc tries clone3, gets ENOSYS and falls back to clone with the thread flags.
        let thread = try runProbe(["--role", "vcpu", "gettid"])
        #expect(thread.end == .exited(0) && (thread.result ?? 0) > 0, "\(thread)")
    }

    @Test func cloneWithForkFlagsKills() throws {
        let outcome = try runProbe(["--role", "worker-base", "clone", "17", "0", "0", "0", "0"])
        #expect(outcome.killedBySIGSYS, "\(outcome)")
    }
}
