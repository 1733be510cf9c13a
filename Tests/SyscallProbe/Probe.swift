import Glibc
import Sandbox

/// Parses the request, confines the process (and thread) and makes the call.
/// Returns 0 after surviving the call, 2 for a usage error, 3 if confining failed.
func runProbe(_ argv: [String]) -> Int32 {
    let request: ProbeRequest
    let call: ProbeCall
    do {
        request = try ProbeRequest(argv)
        call = try ProbeCall(name: request.call, abi: request.abi, arguments: request.arguments)
    } catch {
        writeLine(2, "bulkhead-syscall-probe: \(error)")
        return 2
    }

    // A killed probe must not write a core file; a call the filter allowed that then
    // blocks (pause, ppoll without timeout) ends by SIGALRM, which tests read as "allowed".
    // The spawning test thread's blocked signals are inherited: start from a clean mask.
    var allSignals = sigset_t()
    sigemptyset(&allSignals)
    sigprocmask(SIG_SETMASK, &allSignals, nil)
    var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
    setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
    alarm(3)

    let makeCall = { @Sendable in
        if request.loadPermissiveFilterFirst {
            // An allow-everything filter on top: stacking can only narrow, so this changes nothing.
            let permissive = Profile(name: "permissive", summary: "allows everything", groups: SyscallGroup.allCases)
            try! SeccompFilter(profile: permissive, mode: .kill).load()
        }
        if request.growHeap {
            let blocks = (0..<8192).map { _ in malloc(1024)! }
            for block in blocks { memset(block, 1, 1024) }
            blocks.reversed().forEach { free($0) }
        }
        writeLine(1, "result=\(call.perform())")
    }

    do {
        try Confinement.nameThread("probe")
        try Confinement.confineProcess(as: request.role.stackedOn ?? request.role, mode: request.mode)
        guard request.role.isThreadRole else {
            makeCall()
            return 0
        }
        // As in the worker, no confined thread ever exits: the roles allow no thread exit.
        // Siblings confine and park; the target makes its call and ends the process.
        let siblings = request.siblingRoles.map { ProbeThread(role: $0, mode: request.mode, work: nil) }
        siblings.forEach { $0.start() }
        siblings.forEach { $0.waitUntilConfined() }
        let target = ProbeThread(role: request.role, mode: request.mode, work: { makeCall(); _exit(0) })
        target.start()
        target.join()  // never returns: the target ends the process
    } catch {
        writeLine(2, "bulkhead-syscall-probe: \(error)")
        return 3
    }
    return 0
}

/// write(2) of one line: no stdio buffering that could need calls a filter forbids.
func writeLine(_ fd: Int32, _ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(fd, $0, strlen($0)) }
}
