import JournalLog
import Logging
import Sandbox

/// The parent's structured journal entries (DESIGN.md §8), used instead of stderr lines when
/// the parent's stderr is a journal stream (a `bulkhead run` started by systemd): every
/// entry carries BULKHEAD_VM, BULKHEAD_PROCESS=bulkhead and BULKHEAD_ROLE=parent, and a
/// forbidden-call report carries SYSCALL_NAME, SYSCALL_NR and who was killed.
enum ParentJournal {
    /// Set once by `start`, before sealing; the parent is single-threaded.
    nonisolated(unsafe) private(set) static var logger: Logger?

    /// Switches to the journal when it is reachable and sends the first entry now, so
    /// libsystemd creates its socket before the parent seals (afterwards no socket may be
    /// created; sending on it needs only sendmsg, which the sealed profile allows).
    static func start(vm: String) {
        guard BulkheadLogging.journalReachable else { return }
        let identity = LogIdentity(process: "bulkhead", role: "parent", vm: vm)
        logger = Logger(label: "bulkhead") { _ in JournalLogHandler(identity: identity) }
        logger?.info("starting VM \(vm)")
    }

    /// The kill report's own fields: the call by name and number, the process, pid and thread.
    static func metadata(of report: ForbiddenCallReport) -> Logger.Metadata {
        var fields: Logger.Metadata = [
            "killed-process": "\(report.process)", "killed-pid": "\(report.pid)", "report-source": "\(report.source.rawValue)",
        ]
        if let thread = report.thread { fields["thread"] = "\(thread)" }
        if let name = report.syscall?.name { fields["syscall-name"] = "\(name)" }
        if let number = report.syscallNumber { fields["syscall-nr"] = "\(number)" }
        return fields
    }
}
