import CParent
import CShim
import Glibc
import SystemPackage

/// The guest's console input in `bulkhead run`: a pipe whose read end the worker gets as
/// `--console-input-fd` (its io thread feeds the UART from it), and whose write end the
/// supervisor fills from the run's stdin — or from any other source through `feed` (an
/// attached `bulkhead console` client). At most `capacity` bytes wait here; beyond that:
/// - from a pipe or file, stdin is not read until there is room (backpressure down to the
///   guest, which takes 16 bytes at a time as its FIFO empties); at end of input the pipe is
///   closed once drained and the guest keeps running;
/// - from a terminal (raw mode, TerminalMode), stdin is always read so the escape key
///   (ConsoleEscape) works even when the guest reads nothing; what does not fit is dropped,
///   as a serial line loses what nobody reads.
/// With a control socket (`--name`) the pipe stays open at the end of stdin, and exists
/// even when stdin gives nothing (`.attached`): an attached client's bytes go through `feed`.
/// Only read, write, ppoll and close once sealed; the pipe end is non-blocking.
final class ConsoleInput {
    enum Source: Equatable {
        case terminal, stream
        /// stdin gives nothing, but `bulkhead console` may attach (a control socket is served).
        case attached

        /// What stdin is: a terminal in the foreground (a background run must not touch it),
        /// or a pipe, socket or regular file; nil (no console input) for /dev/null, another
        /// device, a background terminal or a closed stdin.
        static func standardInput() -> Source? {
            var status = stat()
            guard fstat(0, &status) == 0 else { return nil }
            switch status.st_mode & S_IFMT {
            case S_IFCHR: return isatty(0) == 1 && bh_terminal_is_foreground(0) == 1 ? .terminal : nil
            case S_IFIFO, S_IFSOCK, S_IFREG: return .stream
            default: return nil
            }
        }
    }

    static let capacity = 4096

    let source: Source
    /// The pipe's read end for the worker's fd map, until `workerStarted`.
    private(set) var workerEnd: FileDescriptor?
    private var pipeEnd: FileDescriptor?
    private var pending: [UInt8] = []
    private var stdinOpen: Bool
    /// `bulkhead console` may attach: the pipe outlives the end of stdin.
    private let attachable: Bool
    private var escape = ConsoleEscape()
    private var terminal: TerminalMode?
    /// The escape sequence to quit was typed.
    private(set) var quitRequested = false

    /// The pipe, and raw mode on a terminal. Before any child starts: a key typed from here on
    /// reaches the guest as typed.
    init(source: Source, attachable: Bool = false) throws {
        var fds: [Int32] = [-1, -1]
        let made = bh_pipe_cloexec(&fds)
        guard made == 0 else { throw LaunchError.system("console input pipe: \(String(cString: strerror(-made)))") }
        let flags = fcntl(fds[1], F_GETFL)
        guard flags >= 0, fcntl(fds[1], F_SETFL, flags | O_NONBLOCK) == 0 else {
            close(fds[0])
            close(fds[1])
            throw LaunchError.system("console input pipe: \(String(cString: strerror(errno)))")
        }
        self.source = source
        self.attachable = attachable || source == .attached
        stdinOpen = source != .attached
        (workerEnd, pipeEnd) = (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
        pending.reserveCapacity(Self.capacity)
        terminal = source == .terminal ? TerminalMode.enterRaw() : nil
    }

    /// The worker holds the read end now (or failed to start): the parent's copy goes.
    func workerStarted() {
        try? workerEnd?.close()
        workerEnd = nil
    }

    /// The terminal as it was (TerminalMode). Called on every way out of `bulkhead run`;
    /// a parent that dies without it still gets its terminal back, through the keeper.
    func restoreTerminal() {
        terminal?.restore()
        terminal = nil
    }

    /// Bytes for the guest from any source: queued up to `capacity`; returns how many were
    /// taken (the caller keeps or drops the rest). Sent as the pipe takes them.
    @discardableResult
    func feed(_ bytes: some Collection<UInt8>) -> Int {
        guard pipeEnd != nil else { return 0 }
        let taken = bytes.prefix(Self.capacity - pending.count)
        pending += taken
        flush()
        return taken.count
    }

    /// For the supervisor's ppoll: stdin while it may be read, the pipe while bytes wait.
    func pollEntries() -> [pollfd] {
        var fds: [pollfd] = []
        if stdinOpen && pipeEnd != nil && (source == .terminal || pending.count < Self.capacity) {
            fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0))
        }
        if let pipeEnd, !pending.isEmpty { fds.append(pollfd(fd: pipeEnd.rawValue, events: Int16(POLLOUT), revents: 0)) }
        return fds
    }

    /// After ppoll: relays what is ready among `fds` (others' entries are ignored).
    func serve(_ fds: [pollfd]) {
        for entry in fds where entry.revents != 0 {
            if entry.fd == 0 { readStandardInput() } else if entry.fd == pipeEnd?.rawValue { flush() }
        }
    }

    private func readStandardInput() {
        var buffer = [UInt8](repeating: 0, count: source == .terminal ? 1024 : Self.capacity - pending.count)
        let n = read(0, &buffer, buffer.count)
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return }
        guard n > 0 else {
            stdinOpen = false  // end of input (or a terminal hung up): the guest keeps running
            if pending.isEmpty && !attachable { closePipe() }
            return
        }
        guard source == .terminal else {
            feed(buffer[..<n])
            return
        }
        var typed: [UInt8] = []
        for byte in buffer[..<n] where !quitRequested {
            quitRequested = escape.filter(byte, into: &typed)
        }
        feed(typed)  // what does not fit is dropped: a terminal is never held up
    }

    /// Writes what waits, as far as the pipe takes it. A worker that is gone (EPIPE) takes no more.
    private func flush() {
        while let pipe = pipeEnd, !pending.isEmpty {
            let n = pending.withUnsafeBytes { write(pipe.rawValue, $0.baseAddress, $0.count) }
            if n > 0 {
                pending.removeFirst(n)
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return }
            pending.removeAll(keepingCapacity: true)
            closePipe()
        }
        if !stdinOpen && pending.isEmpty && !attachable { closePipe() }
    }

    private func closePipe() {
        try? pipeEnd?.close()
        pipeEnd = nil
    }
}
