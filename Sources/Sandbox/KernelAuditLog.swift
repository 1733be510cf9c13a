import Glibc
import SystemPackage

/// The kernel's seccomp records in /dev/kmsg. In kill mode the kernel itself writes one
/// record per killed process (audit type 1326) with the thread name and syscall number, so
/// a compromised process can neither forge nor suppress it. The kernel rate-limits these
/// lines (about 10 per 5 s): when none is found the answer is nil, never a guess.
///
/// Open it before starting the processes to watch (and before sealing): reading starts at
/// the end of the log as it was then.
public struct KernelAuditLog: ~Copyable {
    private let fd: FileDescriptor

    public init() throws {
        let opened: FileDescriptor
        do {
            opened = try FileDescriptor.open("/dev/kmsg", .readOnly, options: [.nonBlocking, .closeOnExec])
            _ = try opened.seek(offset: 0, from: .end)
        } catch {
            throw SandboxError.system(call: "open(/dev/kmsg)", errno: error as? Errno ?? .ioError)
        }
        fd = opened
    }

    deinit { try? fd.close() }

    /// The newest seccomp record for `pid` written since the last call, if any.
    /// Each read of /dev/kmsg returns one record; EAGAIN means no more for now.
    public func forbiddenCall(pid: Int32, process: String) -> ForbiddenCallReport? {
        var found: ForbiddenCallReport?
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
            } catch Errno.brokenPipe {
                continue  // records were overwritten before we read them; go on with newer ones
            } catch {
                break
            }
            guard count > 0 else { break }
            let record = String(decoding: buffer[..<count], as: UTF8.self)
            guard let semicolon = record.firstIndex(of: ";") else { continue }
            let message = record[record.index(after: semicolon)...].prefix { $0 != "\n" }
            if let report = ForbiddenCallReport.parseAuditRecord(message, process: process), report.pid == pid {
                found = report
            }
        }
        return found
    }
}
