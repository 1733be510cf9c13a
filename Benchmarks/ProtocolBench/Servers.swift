import BulkheadProtocol
import Glibc
import SystemPackage

/// The far side of each measurement, run in a forked child on its own socket end.
enum BenchServer {
    /// Raw ping-pong: receive a datagram, answer one byte with `fd` in SCM_RIGHTS. With
    /// `dupEach`, the fd is dup'ed before and closed after sending, as RequestServer does.
    static func raw(_ socket: SeqPacketSocket, fd: FileDescriptor, dupEach: Bool) -> Never {
        while true {
            guard let got = try? socket.receive(), !got.isHangUp else { _exit(0) }
            let out = dupEach ? (try? fd.duplicate()) ?? fd : fd
            do { try socket.send([1], fds: [out]) } catch { _exit(1) }
            if dupEach { try? out.close() }
        }
    }

    /// Raw ping-pong that opens the file per request as the block helper does, without its
    /// protocol or checks: openat of one name from a held directory (the block profile's
    /// read-only flags), fstat, send, close. The kernel's share of a helper's round trip.
    static func rawOpen(_ socket: SeqPacketSocket, directory: FileDescriptor, name: String) -> Never {
        while true {
            guard let got = try? socket.receive(), !got.isHangUp else { _exit(0) }
            let fd = openat(directory.rawValue, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
            var status = stat()
            guard fd >= 0, fstat(fd, &status) == 0 else { _exit(1) }
            do { try socket.send([1], fds: [FileDescriptor(rawValue: fd)]) } catch { _exit(1) }
            close(fd)
        }
    }

    /// A block helper's request loop answering `block.open` with a dup of `fd`.
    static func protocolLoop(_ socket: SeqPacketSocket, fd: FileDescriptor) -> Never {
        let server = RequestServer(socket: socket, helper: .block, name: "bulkhead-protocol-bench")
        let end = server.serve { request in
            let open = try request.decode(BlockOpenRequest.self)
            return Reply(BlockOpenReply(size: 0, access: open.access, kind: .file), fds: [try fd.duplicate()])
        }
        _exit(end == .peerHungUp ? 0 : 1)
    }

    /// fork(2) a child that runs `body` on `theirs`; the parent keeps `ours`.
    static func spawn(_ body: @escaping (SeqPacketSocket) -> Never) -> (client: SeqPacketSocket, pid: pid_t) {
        guard let (ours, theirs) = try? SeqPacketSocket.pair() else { fatalError("socketpair failed") }
        let pid = fork()
        if pid == 0 {
            ours.close()
            body(theirs)
        }
        guard pid > 0 else { fatalError("fork failed: errno \(errno)") }
        theirs.close()
        return (ours, pid)
    }

    /// Closes the client's end (the child sees a hang-up) and reaps the child.
    static func finish(_ client: SeqPacketSocket, _ pid: pid_t) {
        client.close()
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        if status != 0 { print("warning: bench server \(pid) exited with status \(status)") }
    }
}
