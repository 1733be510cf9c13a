import Glibc
import JournalLog
import Logging

/// One line on stderr, written with a single write(2): no stdio, whose first use would
/// fstat the fd (outside the block and net profiles), and no interleaving within a line.
/// Under systemd (`$JOURNAL_STREAM`) the lines go to the journal instead, as structured
/// entries (BULKHEAD_PROCESS, BULKHEAD_ROLE; `JournalLog`), through swift-log.
public enum HelperLog {
    /// Set by `useJournalIfReachable` at start-up; the helper is single-threaded.
    nonisolated(unsafe) static var journal: Logger?

    public static func line(_ program: String, _ text: String) {
        if let journal {
            journal.notice("\(text)")
            return
        }
        LineLogHandler.writeAll(Array("\(program): \(text)\n".utf8)[...])
    }

    /// Logs `text` and exits with `status`, at start-up (before serving).
    public static func fail(_ program: String, _ status: HelperExit, _ text: String) -> Never {
        if let journal {
            journal.error("\(text)", metadata: ["exit-status": "\(status.rawValue)"])
        } else {
            line(program, text)
        }
        exit(status.rawValue)
    }

    /// Switches to the journal when it is reachable and logs `first` there, so libsystemd
    /// creates its journal socket now: after confinement no socket may be created. Call it
    /// after the inherited fds are closed and before confining.
    static func useJournalIfReachable(_ identity: LogIdentity, first: String) {
        guard BulkheadLogging.journalReachable else { return }
        journal = Logger(label: identity.process) { _ in JournalLogHandler(identity: identity) }
        journal?.info("\(first)")
    }
}
