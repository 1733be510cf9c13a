import Sandbox
import Testing

/// The coverage run's matcher on a trace written by hand in strace's format: filters are
/// stacked per thread as the kernel does, and a call no rule allows is reported, so the
/// coverage test can fail both ways.
@Suite struct TraceReplayTests {
    static let worker = """
        execve("/b/bulkhead-worker", ["/b/bulkhead-worker"], 0x7ffd /* 5 vars */) = 0
        ioctl(0x3, 0xae01, 0) = 0x4
        seccomp(0x1, 0, 0x55a3075ea4f0)         = 0
        clone(child_stack=0x7f1e447feeb0, flags=0x3d0f00, parent_tid=[2 /* 501 in strace's PID NS */], tls=0x7f1e447ff6c0, child_tidptr=0x7f1e447ff990) = 2 /* 501 in strace's PID NS */
        futex(0x7fefb71ff990, 0x109, 0x2, 0, 0, 0xffffffff) = ?
        +++ exited with 0 +++
        """
    static let vcpu = """
        prctl(0xf, "vcpu0")             = 0
        seccomp(0x1, 0, 0x7fefac003b40)         = 0
        ioctl(0x9, 0xae80, 0)                   = 0
        openat(0xffffff9c, 0x7f00, 0)           = -1 ENOENT (No such file or directory)
        """

    @Test func callsAreMatchedAgainstEveryFilterTheThreadLoaded() {
        let calls = TraceReplay.attribute(threads: [500: Self.worker, 501: Self.vcpu])
        // Unconfined calls (execve, the ioctl before the first seccomp) count for nothing; the
        // child's calls follow its clone, under the filters it inherited and then its own.
        #expect(calls.map(\.call.name) == ["clone", "prctl", "seccomp", "ioctl", "openat", "futex"], "\(calls.map(\.call.name))")
        #expect(calls[1].layers == [.workerBase] && calls[1].thread == "bulkhead-worker")
        #expect(calls[4].layers == [.workerBase, .vcpu] && calls[4].thread == "vcpu0")
        var coverage = ProfileCoverage()
        coverage.add(calls, scenario: "handmade")
        let run = Role.vcpu.profile.rules.first { $0.syscall == "ioctl" }!
        #expect(coverage.scenarios(using: run, in: .vcpu) == ["handmade"])
        let unallowed = coverage.drift().map { "\($0.role.rawValue) \($0.call)" }.sorted()
        #expect(unallowed == ["vcpu openat", "worker-base openat"])
        #expect(coverage.drift(expectingForbidden: ["handmade"]).isEmpty)
        #expect(!coverage.unjustified(in: .vcpu).isEmpty, "write was not exercised by this trace")
    }

    @Test func stracesLineFormsParse() throws {
        let clone = try #require(TracedCall(straceLine: "clone3({flags=0x220000000, exit_signal=17, stack=NULL, stack_size=0, cgroup=5}, 88) = 19919"))
        #expect(clone.name == "clone3" && clone.result == 19919)
        let killed = try #require(TracedCall(straceLine: "socket(0x2, 0x2, 0)                     = ?"))
        #expect(killed.arguments.prefix(3) == [2, 2, 0] && killed.result == nil)
        let exec = try #require(TracedCall(straceLine: "execveat(3</b/bulkhead-block>, \"\", [\"x\"], 0x55 /* 5 vars */, 0x1000) = 0"))
        #expect(exec.text == "/b/bulkhead-block" && exec.arguments[4] == 0x1000)
        #expect(TracedCall(straceLine: "--- SIGCHLD {si_signo=SIGCHLD} ---") == nil)
        #expect(TracedCall(straceLine: "+++ killed by SIGSYS +++") == nil)
    }
}
