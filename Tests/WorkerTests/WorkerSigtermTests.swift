import CParent
import Glibc
import Testing

/// The parent ends the worker with SIGTERM. As PID 1 of its own PID namespace the worker
/// drops every signal it has no handler for, so a SIGTERM sent while it loads (a helper died
/// during start) was lost and the guest ran on until the parent's second SIGTERM, 500 ms
/// later (found by the fault storm, Tests/Storm/storm.py). The spawn now starts it with
/// SIGTERM blocked, and the worker unblocks it once its handler is in.
@Suite struct WorkerSigtermTests {
    /// Spawns `argv` with fds 0-2 and `extra` (as 3, 4, ...) the way the parent spawns a child.
    static func spawn(_ argv: [String], extra: [Int32] = [], newPIDNamespace: Bool, stdout: Int32) -> pid_t {
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        let program = open(argv[0], O_RDONLY | O_CLOEXEC)  // bh_spawn runs this file (execveat)
        defer {
            close(devNull)
            close(program)
        }
        let args: [UnsafeMutablePointer<CChar>?] = argv.map { (s: String) in strdup(s) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ["SWIFT_BACKTRACE=enable=no", "PATH=/usr/bin:/bin"].map { (s: String) in strdup(s) } + [nil]
        defer { (args + envp).forEach { free($0) } }
        let map = [devNull, stdout, devNull] + extra
        let cloneNewPID: UInt = 0x2000_0000  // CLONE_NEWPID (<sched.h> hides it from Swift)
        return map.withUnsafeBufferPointer { fds in
            bh_spawn(program, args, envp, fds.baseAddress, Int32(fds.count), newPIDNamespace ? cloneNewPID : 0, -1)
        }
    }

    /// waitpid with a deadline; nil (after SIGKILL) when the child outlives it.
    static func wait(_ pid: pid_t, seconds: Double) -> WorkerRun.Ending? {
        let deadline = WorkerRun.monotonicMilliseconds() + seconds * 1000
        var status: Int32 = 0
        while WorkerRun.monotonicMilliseconds() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                return status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
            }
            usleep(5_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return nil
    }

    @Test func aSigtermSentAsTheWorkerStartsIsKeptAndEndsItAtOnce() throws {
        let kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        try #require(kvm >= 0)
        defer { close(kvm) }
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devNull) }
        let pid = Self.spawn(
            [WorkerRun.workerPath(), "--kvm-fd", "3", "--cmdline", "sleep=5000 poweroff"], extra: [kvm], newPIDNamespace: true,
            stdout: devNull)
        try #require(pid > 0)
        // bh_spawn returns once execve succeeded: the worker is loading its runtime, with no
        // handler yet.
        let sent = WorkerRun.monotonicMilliseconds()
        kill(pid, SIGTERM)
        let ending = Self.wait(pid, seconds: 10)
        #expect(ending == .exited(143), "the guest ran on")
        #expect(WorkerRun.monotonicMilliseconds() - sent < 1000)
    }

    @Test(arguments: [true, false])
    func onlyThePIDNamespaceSpawnStartsWithSIGTERMBlocked(newPIDNamespace: Bool) throws {
        var pipeFDs: [Int32] = [0, 0]
        try #require(pipe(&pipeFDs) == 0)
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let pid = Self.spawn(["/bin/grep", "^SigBlk", "/proc/self/status"], newPIDNamespace: newPIDNamespace, stdout: pipeFDs[1])
        close(pipeFDs[1])
        try #require(pid > 0)
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 256)
        while case let n = read(pipeFDs[0], &buffer, buffer.count), n > 0 { output += buffer[..<n] }
        close(pipeFDs[0])
        #expect(Self.wait(pid, seconds: 10) == .exited(0))
        let blocked = newPIDNamespace ? "0000000000004000" : "0000000000000000"  // bit 14: SIGTERM (15)
        #expect(String(decoding: output, as: UTF8.self) == "SigBlk:\t\(blocked)\n")
    }
}
