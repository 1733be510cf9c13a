import CParent
import Glibc
import JournalLog
import SystemPackage

/// A process the parent started: fork+exec through `bh_spawn` with an explicit fd map
/// (child fd i = `fds[i]`, -1 leaves it closed; every other fd closed), its own process
/// group, PR_SET_PDEATHSIG(SIGKILL) and a clean environment; with `cgroupFD` (the VM's cgroup
/// directory) it is born in that cgroup (clone3 with CLONE_INTO_CGROUP).
struct ChildProcess {
    /// `worker`, `block`, `net` or `exec`: how reports name it.
    let name: String
    let pid: pid_t

    /// Every child gets only this environment: no crash backtracer (it would fork and exec
    /// under the filters) and the parent's pid, so an operator (and the tests) can find
    /// every process of one VM in /proc/*/environ.
    /// `runAs` (UID:GID, as root) is the identity the child takes before it confines (RunDefense);
    /// `vm` names the VM in the child's journal entries (BULKHEAD_VM).
    static func environment(runAs: String? = nil, vm: String? = nil) -> [String] {
        ["SWIFT_BACKTRACE=enable=no", "BULKHEAD_RUN=\(getpid())", "PATH=/usr/bin:/bin"]
            + (runAs.map { ["BULKHEAD_RUN_AS=\($0)"] } ?? []) + (vm.map { ["BULKHEAD_VM=\($0)"] } ?? [])
    }

    /// CLONE_NEWPID (<sched.h> defines it only under _GNU_SOURCE, so Swift does not see it).
    static let cloneNewPID: UInt = 0x2000_0000

    /// Runs `program` (TrustedExecutable's fd; `executable` is its argv[0] and its name in
    /// messages), which the parent closes once the child has it.
    static func spawn(
        name: String, program: FileDescriptor, executable: String, arguments: [String], fds: [Int32], runAs: String? = nil,
        vm: String? = nil, newPIDNamespace: Bool = false, cgroupFD: FileDescriptor? = nil
    ) throws -> ChildProcess {
        defer { try? program.close() }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment(runAs: runAs, vm: vm).map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let flags: UInt = newPIDNamespace ? cloneNewPID : 0
        let pid = fds.withUnsafeBufferPointer { map in
            bh_spawn(program.rawValue, argv, envp, map.baseAddress, Int32(map.count), flags, cgroupFD?.rawValue ?? -1)
        }
        guard pid > 0 else {
            throw LaunchError.system("cannot start \(name) (\(executable)): \(String(cString: strerror(-pid)))")
        }
        return ChildProcess(name: name, pid: pid)
    }
}

/// Why a run could not be started; nothing is left running when it is thrown.
enum LaunchError: Error, CustomStringConvertible {
    /// A helper did not start or failed its handshake (exit 69).
    case helper(String)
    /// The parent could not do its own part: /dev/kvm, fork, sockets, sealing (exit 71).
    case system(String)
    /// The `prepare` hook failed (exit 77).
    case hook(String)

    var description: String {
        switch self {
        case .helper(let message), .system(let message): message
        case .hook(let why): "the start was ended: \(why)"
        }
    }

    var exitStatus: Int32 {
        switch self {
        case .helper: ExitStatus.helperFailure
        case .system: ExitStatus.systemError
        case .hook: ExitStatus.hookFailed
        }
    }
}

/// How a reaped child ended, from wait4's status.
enum ChildEnding: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus status: Int32) {
        self = status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
    }

    var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "was killed by signal \(signal) (\(Self.signalName(signal)))"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        case SIGSYS: "SIGSYS"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        case SIGBUS: "SIGBUS"
        case SIGILL: "SIGILL"
        default: "signal \(signal)"
        }
    }
}

/// Lines to stderr with write(2) only: after sealing, stdio's first use could need calls
/// the parent profile does not allow. Under a journal stream they are journal entries instead
/// (`ParentJournal`).
enum StandardError {
    static func line(_ text: String) {
        if let journal = ParentJournal.logger {
            journal.notice("\(text)")
            return
        }
        LineLogHandler.writeAll(Array("bulkhead: \(text)\n".utf8)[...])
    }

    /// A child's report line, already sanitised (ChildLines.sanitised), as it is.
    static func relay(_ line: String) {
        LineLogHandler.writeAll(Array((line + "\n").utf8)[...])
    }
}
