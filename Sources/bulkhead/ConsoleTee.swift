import BulkheadProtocol
import CShim
import Glibc
import SystemPackage

/// The copy of the guest's UART output that `bulkhead console` shows: a pipe whose write end
/// the worker gets as `--console-tee-fd` (non-blocking: every console byte is written to the
/// run's console destination first, then here, and dropped when the pipe is full, so a VM
/// nobody watches is never held up), and whose read end the parent reads only while a
/// client is attached and `buffer` has room. The kernel's pipe buffer (64 KiB) and `buffer`
/// are all that waits for a slow client: what a client does not read in time is lost, as a
/// serial line loses what nobody reads. At attach, what waited from before is thrown away:
/// the client sees the guest's output from the moment it attached.
/// Only read and close once sealed; both ends non-blocking.
final class ConsoleTee {
    /// What one `console.read` reply carries.
    static let capacity = ConsoleOutputReply.maxOutput

    /// The write end for the worker's fd map, until `workerStarted`.
    private(set) var workerEnd: FileDescriptor?
    private var readEnd: FileDescriptor?
    private(set) var buffer: [UInt8] = []
    /// A client is attached: output is kept for it.
    private var collecting = false

    init() throws {
        var fds: [Int32] = [-1, -1]
        let made = bh_pipe_cloexec(&fds)
        guard made == 0 else { throw LaunchError.system("console tee pipe: \(String(cString: strerror(-made)))") }
        for fd in fds {
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
                close(fds[0])
                close(fds[1])
                throw LaunchError.system("console tee pipe: \(String(cString: strerror(errno)))")
            }
        }
        (readEnd, workerEnd) = (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
        buffer.reserveCapacity(Self.capacity)
    }

    /// The worker holds the write end now (or failed to start): the parent's copy goes.
    func workerStarted() {
        try? workerEnd?.close()
        workerEnd = nil
    }

    /// For the supervisor's ppoll: the pipe while a client is attached and there is room.
    var pollEntries: [pollfd] {
        guard collecting, let readEnd, buffer.count < Self.capacity else { return [] }
        return [pollfd(fd: readEnd.rawValue, events: Int16(POLLIN), revents: 0)]
    }

    /// A client attached: what waited from before it is discarded (at most the pipe's 64 KiB).
    func attach() {
        buffer.removeAll(keepingCapacity: true)
        var scratch = [UInt8](repeating: 0, count: Self.capacity)
        for _ in 0..<64 {
            guard let readEnd else { break }
            let n = read(readEnd.rawValue, &scratch, scratch.count)
            if n < 0 && errno == EINTR { continue }
            if n == 0 { closeReadEnd() }
            if n <= 0 { break }
        }
        collecting = true
    }

    func detach() {
        collecting = false
        buffer.removeAll(keepingCapacity: true)
    }

    /// After ppoll: reads what `fds` shows ready into `buffer`, as far as it has room.
    func serve(_ fds: [pollfd]) {
        guard let readEnd, collecting, fds.contains(where: { $0.fd == readEnd.rawValue && $0.revents != 0 }) else { return }
        let room = Self.capacity - buffer.count
        guard room > 0 else { return }
        var chunk = [UInt8](repeating: 0, count: room)
        let n = read(readEnd.rawValue, &chunk, room)
        if n > 0 { buffer += chunk[..<n] } else if n == 0 || (errno != EINTR && errno != EAGAIN) { closeReadEnd() }
    }

    /// What waits for the attached client, emptied.
    func take() -> [UInt8] {
        defer { buffer.removeAll(keepingCapacity: true) }
        return buffer
    }

    /// The worker has ended (end of file): nothing more comes.
    private func closeReadEnd() {
        try? readEnd?.close()
        readEnd = nil
    }
}

