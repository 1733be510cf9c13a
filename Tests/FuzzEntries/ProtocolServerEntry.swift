import BulkheadProtocol
import Glibc
import SystemPackage
import Vocabulary

/// A helper's request loop (`RequestServer.serve`, what every helper runs) on one datagram
/// the fuzzer writes, sent over a real SOCK_SEQPACKET pair with fds in SCM_RIGHTS. Input:
/// byte 0 is how many fds ride along (0...6, more than the protocol's 4 included), byte 1
/// picks the helper (block, net, exec), the rest is the datagram. The handler decodes the
/// typed request and refuses it. Verdicts: a datagram gets exactly one answer, of kind
/// reply or error, addressed to its request; the loop ends only because the client hung
/// up (or, after its one error reply, on a version mismatch); and every fd that arrived is
/// closed (the pipe whose write end was sent has hung up).
public enum ProtocolServerEntry {
    public static func run(_ input: [UInt8]) -> FuzzOutcome {
        guard input.count >= 2 else { return .refused("shorter than the 2-byte prefix") }
        let fdCount = Int(input[0] % 7)
        let helper = [HelperKind.block, .net, .exec][Int(input[1] % 3)]
        let datagram = Array(input[2...])

        guard let (client, server) = try? SeqPacketSocket.pair() else { return .refused("socketpair failed") }
        defer { client.close() }
        var ends: [Int32] = [-1, -1]
        check(pipe(&ends) == 0, "pipe")
        // Close-on-exec, as pipe2(O_CLOEXEC) would (not visible to Swift): tests that start
        // programs run beside this one in the same process.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let written = FileDescriptor(rawValue: ends[1])
        do {
            try client.send(datagram, fds: Array(repeating: written, count: fdCount))
        } catch {
            close(ends[0])
            close(ends[1])
            server.close()
            return .refused("send: \(error)")
        }
        close(ends[1])
        _ = shutdown(client.fileDescriptor.rawValue, Int32(SHUT_WR))

        let end = RequestServer(socket: server, helper: helper, name: "bulkhead-fuzz").serve { request in
            for fd in request.fds { try? fd.close() }
            switch request.command.id {
            case CommandCatalog.blockOpen.id: _ = try request.decode(BlockOpenRequest.self)
            case CommandCatalog.netOpenTap.id: _ = try request.decode(NetOpenTapRequest.self)
            case CommandCatalog.execRunHook.id: _ = try request.decode(ExecRunHookRequest.self)
            default: break
            }
            throw Refusal("the fuzz handler refuses every request")
        }
        server.close()

        // poll, not read: with every write end closed the read end reports POLLHUP at once.
        var readEnd = pollfd(fd: ends[0], events: Int16(POLLIN), revents: 0)
        let leaked = poll(&readEnd, 1, 0) == 0
        close(ends[0])
        check(!leaked, "an fd that arrived with the datagram is still open")

        var answers: [[UInt8]] = []
        while var answer = try? client.receive(), !answer.isHangUp {
            answer.closeFDs()
            answers.append(answer.bytes)
        }
        if datagram.isEmpty {
            check(end == .peerHungUp && answers.isEmpty, "an empty datagram is a hang-up")
            return .refused("hang-up")
        }
        check(answers.count == 1, "\(answers.count) answers to one datagram")
        let header: MessageHeader
        do { header = try MessageHeader.decode(answers[0]) } catch { check(false, "an unreadable answer: \(error)"); return .accepted }
        check(header.kind != .request, "the server sent a request")
        let address = MessageHeader.replyAddress(of: datagram)
        check(header.requestID == address.requestID || header.requestID == 0, "an answer to another request")
        switch end {
        case .peerHungUp: break
        case .versionMismatch: check(datagram.count >= 6 && datagram[4...5] != [1, 0], "a version mismatch on version 1")
        case .socketError(let error): check(false, "the loop failed: \(error)")
        }
        return header.kind == .reply ? .accepted : .refused("error reply")
    }
}
