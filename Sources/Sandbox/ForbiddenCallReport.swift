/// Which call killed a confined process, as its supervisor learned it: from the trap-mode
/// SIGSYS reporter's line, from the kernel's audit record, or not at all ("unknown").
public struct ForbiddenCallReport: Equatable, Sendable, CustomStringConvertible {
    public enum Source: String, Sendable {
        case trapHandler = "sigsys handler"
        case kernelAudit = "kernel audit record"
        case unknown
    }

    public let process: String
    public let pid: Int32
    public let thread: String?
    public let syscall: Syscall?
    /// The number as reported, kept when it names no known call.
    public let syscallNumber: Int32?
    public let source: Source

    public init(process: String, pid: Int32, thread: String?, syscallNumber: Int32?, abi: SyscallABI?, source: Source) {
        self.process = process
        self.pid = pid
        self.thread = thread
        self.syscallNumber = syscallNumber
        self.syscall = syscallNumber.flatMap { Syscall(number: $0, abi: abi ?? .native) }
        self.source = source
    }

    /// The exit status a supervisor uses for a process killed by a forbidden call.
    public static let exitStatus: Int32 = 159

    /// Thread role, e.g. `vcpu` for thread `vcpu0`.
    public var role: Role? { thread.flatMap(Role.init(threadName:)) }

    public var description: String {
        let call =
            if let syscall { "syscall \(syscall.name) (\(syscall.abi == .native ? "" : syscall.abi.rawValue + " ")\(syscall.number))" }
            else if let syscallNumber { "syscall number \(syscallNumber)" }
            else { "syscall unknown" }
        return "forbidden call: process \(process) pid \(pid), thread \(thread ?? "unknown"), \(call) [\(source.rawValue)]"
    }

    /// Parses the trap-mode reporter's line:
    /// `bulkhead-sigsys syscall=257 arch=0xc000003e thread=vcpu0 pid=1234`.
    public static func parseTrapReport(_ line: Substring, process: String) -> ForbiddenCallReport? {
        guard line.hasPrefix("bulkhead-sigsys ") else { return nil }
        let fields = keyValues(line)
        guard let number = fields["syscall"].flatMap({ Int32($0) }),
            let archText = fields["arch"], archText.hasPrefix("0x"),
            let arch = UInt32(archText.dropFirst(2), radix: 16),
            let pid = fields["pid"].flatMap({ Int32($0) })
        else { return nil }
        return ForbiddenCallReport(
            process: process, pid: pid, thread: fields["thread"], syscallNumber: number,
            abi: SyscallABI(auditArch: arch), source: .trapHandler)
    }

    /// Parses a kernel seccomp audit record (type=1326) as /dev/kmsg carries it:
    /// `… audit: type=1326 …: … pid=2778 comm="vcpu0" … sig=31 arch=c000003e syscall=257 …`.
    public static func parseAuditRecord(_ line: Substring, process: String) -> ForbiddenCallReport? {
        guard line.contains("type=1326") else { return nil }
        let fields = keyValues(line)
        guard let pid = fields["pid"].flatMap({ Int32($0) }),
            let number = fields["syscall"].flatMap({ Int32($0) }),
            let arch = fields["arch"].flatMap({ UInt32($0, radix: 16) })
        else { return nil }
        let comm = fields["comm"].map { $0.hasPrefix("\"") ? String($0.dropFirst().dropLast()) : $0 }
        return ForbiddenCallReport(
            process: process, pid: pid, thread: comm, syscallNumber: number,
            abi: SyscallABI(auditArch: arch), source: .kernelAudit)
    }

    private static func keyValues(_ line: Substring) -> [String: String] {
        var fields: [String: String] = [:]
        for token in line.split(separator: " ") {
            guard let eq = token.firstIndex(of: "=") else { continue }
            fields[String(token[..<eq])] = String(token[token.index(after: eq)...])
        }
        return fields
    }
}
