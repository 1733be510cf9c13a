import CHelper
import CShim
import Glibc
import SystemPackage

/// Runs one program the way the exec helper runs every hook: fork+execve (no shell, no
/// posix_spawn), the environment it is given (`DeclaredHooks.environment`: PATH, the VM,
/// the phase, the tap, nothing inherited), stdin /dev/null, stdout and
/// stderr into one pipe, no other fd (close_range in the child), its own process group,
/// SIGKILL for the whole group at the time limit, and output capped but always drained.
/// The group's leader is a small watcher forked from this process (bh_spawn_in_own_group):
/// if this process dies, even by SIGKILL, the watcher ends the whole group.
/// When the hook's main process ends, whatever is left of its group is killed too: a hook
/// may not leave processes behind.
///
/// C calls: openat (/dev/null), pipe2, fork/setpgid/execve (`bh_spawn_in_own_group`),
/// pidfd_open, poll, read, kill, waitpid, close — all inside the exec-hook profile, which
/// the exec helper's launcher runs under (Helpers/exec/HookLauncher.swift).
public enum HookRunner {
    /// The environment every hook starts from (DeclaredHooks adds the VM, phase and tap).
    public static let environment = ["PATH=/usr/bin:/bin"]
    /// After SIGKILL, how long to keep draining a pipe that some escaped process still holds.
    static let drainGrace: Duration = .milliseconds(500)

    /// prctl(PR_SET_CHILD_SUBREAPER): a hook's orphaned descendants are re-parented to
    /// this process instead of PID 1, so `run` can reap them and no zombie of a hook
    /// outlives it. The exec helper calls this once at start-up.
    public static func adoptOrphanedDescendants() throws(Errno) {
        let result = bh_become_child_subreaper()
        if result < 0 { throw Errno(rawValue: -result) }
    }

    static func run(
        hook: String, program: CanonicalPath, arguments: [String], environment: [String], limits: HookLimits
    ) throws(HookRefusal) -> HookResult {
        func failed(_ call: String, _ code: Int32) -> HookRefusal {
            .systemCallFailed(hook: hook, call: call, errno: Errno(rawValue: code))
        }
        let devNull = bh_open_at(bh_at_fdcwd(), "/dev/null", Int32(BH_OPEN_READ_PLAIN.rawValue))
        if devNull < 0 { throw failed("openat /dev/null", -devNull) }
        defer { close(devNull) }

        var output: [Int32] = [-1, -1]
        let outputResult = bh_pipe_cloexec(&output)
        if outputResult < 0 { throw failed("pipe2", -outputResult) }
        var report: [Int32] = [-1, -1]
        let reportResult = bh_pipe_cloexec(&report)
        if reportResult < 0 {
            close(output[0])
            close(output[1])
            throw failed("pipe2", -reportResult)
        }
        defer { close(output[0]) }
        // The group's leader watches this pipe: if this process dies, its write end closes
        // and the leader SIGKILLs the group (bh_spawn_in_own_group). Closed once the group ended.
        var watch: [Int32] = [-1, -1]
        let watchResult = bh_pipe_cloexec(&watch)
        if watchResult < 0 {
            close(output[1])
            close(report[0])
            close(report[1])
            throw failed("pipe2", -watchResult)
        }
        defer { close(watch[1]) }

        // Everything the child needs is allocated before fork: it may not call malloc.
        let argv = CStringArray([program.bytes] + arguments.map { Array($0.utf8) })
        let envp = CStringArray(environment.map { Array($0.utf8) })
        let clock = ContinuousClock()
        let start = clock.now
        let pid = bh_spawn_in_own_group(
            argv.pointers[0], argv.pointers, envp.pointers, devNull, output[1], report[1], watch[0], watch[1])
        argv.free()
        envp.free()
        close(output[1])
        close(report[1])
        close(watch[0])
        if pid < 0 {
            close(report[0])
            throw failed("fork", -pid)
        }

        // Empty report: execve succeeded (the pipe closed on exec). Four bytes: its errno.
        var childErrno: Int32 = 0
        let reported = withUnsafeMutableBytes(of: &childErrno) { readFully(report[0], into: $0) }
        close(report[0])
        if reported == MemoryLayout<Int32>.size {
            _ = reap(pid)
            throw .execFailed(hook: hook, errno: Errno(rawValue: childErrno))
        }

        let pidfd = bh_pidfd_open(pid)
        if pidfd < 0 {
            kill(-pid, SIGKILL)
            _ = reap(pid)
            endGroup(pid)
            throw failed("pidfd_open", -pidfd)
        }
        defer { close(pidfd) }

        var collected = CappedOutput(cap: limits.outputCap)
        var pipeOpen = true
        var exited = false
        var timedOut = false
        let deadline = start + limits.timeLimit
        var drainUntil = deadline
        while pipeOpen || !exited {
            let now = clock.now
            if !timedOut && now >= deadline {
                kill(-pid, SIGKILL)
                timedOut = true
                drainUntil = now + drainGrace
            }
            if timedOut && now >= drainUntil { break }
            var fds: [pollfd] = []
            if pipeOpen { fds.append(pollfd(fd: output[0], events: Int16(POLLIN), revents: 0)) }
            if !exited { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), milliseconds(until: timedOut ? drainUntil : deadline, from: now))
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == output[0] {
                    pipeOpen = collected.readOnce(from: output[0])
                } else if entry.fd == pidfd {
                    exited = true
                    kill(-pid, SIGKILL)  // what the hook left running in its group
                }
            }
        }
        if !exited { kill(-pid, SIGKILL) }
        let termination = reap(pid)
        endGroup(pid)
        return HookResult(
            termination: termination, output: collected.bytes, truncated: collected.truncated,
            timedOut: timedOut, duration: clock.now - start, processID: pid)
    }

    /// waitpid(pid, &status, 0), retried on EINTR.
    private static func reap(_ pid: Int32) -> HookResult.Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .signaled(signal: SIGKILL) }
        }
        if status & 0x7F == 0 { return .exited(status: (status >> 8) & 0xFF) }
        return .signaled(signal: status & 0x7F)
    }

    /// Reaps the rest of the (already SIGKILLed) group: waitpid(-pgid, WNOHANG) until no
    /// child of this process is left in it, for at most `drainGrace`.
    private static func endGroup(_ pgid: Int32) {
        let clock = ContinuousClock()
        let until = clock.now + drainGrace
        var status: Int32 = 0
        while clock.now < until {
            let reaped = waitpid(-pgid, &status, WNOHANG)
            if reaped > 0 { continue }
            if reaped < 0 && errno == EINTR { continue }
            if reaped < 0 { return }  // ECHILD: none left
            kill(-pgid, SIGKILL)
            var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&pause, nil)
        }
    }

    private static func milliseconds(until: ContinuousClock.Instant, from now: ContinuousClock.Instant) -> Int32 {
        let left = until - now
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }

    private static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var total = 0
        while total < buffer.count {
            let count = read(fd, buffer.baseAddress! + total, buffer.count - total)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            total += count
        }
        return total
    }
}
