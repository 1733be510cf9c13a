import ProcessInspection
import Sandbox

/// Text a compromised worker writes or shapes, which the parent parses: the trap
/// reporter's stderr line and the kernel's seccomp audit record (`ForbiddenCallReport`,
/// where the worker picks its thread names), /proc/PID/status (`TaskStatus`; the worker
/// sets its own `Name:`) and /proc/PID/limits (`ResourceLimit`) for `bulkhead status`.
/// Input: byte 0 picks the parser, the rest is the text.
public enum WorkerReportsEntry {
    public static func run(_ input: [UInt8]) -> FuzzOutcome {
        guard let first = input.first else { return .refused("empty input") }
        let line = text(input.dropFirst())
        switch first % 4 {
        case 0:
            guard let report = ForbiddenCallReport.parseTrapReport(Substring(line), process: "worker") else { return .refused("no trap report") }
            _ = report.description
        case 1:
            guard let report = ForbiddenCallReport.parseAuditRecord(Substring(line), process: "worker") else { return .refused("no audit record") }
            _ = report.description
        case 2:
            let status = TaskStatus(parsing: line)
            if let mask = status.capEff { _ = Capability.decode(mask) }
            if status == TaskStatus() { return .refused("no status field") }
        default:
            let limits = ResourceLimit.parse(line)
            for limit in limits { _ = ResourceLimit.text(limit.soft) + ResourceLimit.text(limit.hard) }
            if limits.isEmpty { return .refused("no limit line") }
        }
        return .accepted
    }
}
