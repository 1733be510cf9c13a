import CShim
import Glibc
import SystemPackage

/// One end of an AF_UNIX SOCK_SEQPACKET connection: one message per datagram, fds in
/// SCM_RIGHTS. A value type over the fd; `close()` ends it. Not thread-safe for concurrent
/// receives (the kernel interleaves whole datagrams, but callers match replies by id).
public struct SeqPacketSocket: Sendable, Hashable {
    public let fileDescriptor: FileDescriptor

    /// Wraps an fd that already is a SOCK_SEQPACKET socket (e.g. one inherited at spawn).
    public init(_ fileDescriptor: FileDescriptor) { self.fileDescriptor = fileDescriptor }

    /// Wraps an inherited or socket-activated fd after checking, with getsockopt(SO_DOMAIN,
    /// SO_TYPE), that it is an AF_UNIX SOCK_SEQPACKET socket; anything else is refused.
    public init(validating fileDescriptor: FileDescriptor) throws(ProtocolError) {
        let result = bh_is_unix_seqpacket(fileDescriptor.rawValue)
        guard result >= 0 else { throw .socket(call: "getsockopt(SO_TYPE)", errno: Errno(rawValue: -result)) }
        guard result == 1 else { throw .socket(call: "getsockopt(SO_TYPE)", errno: .protocolWrongTypeForSocket) }
        self.fileDescriptor = fileDescriptor
    }

    /// socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC): two connected ends.
    public static func pair() throws(ProtocolError) -> (SeqPacketSocket, SeqPacketSocket) {
        var fds: (Int32, Int32) = (-1, -1)
        let result = withUnsafeMutableBytes(of: &fds) {
            bh_seqpacket_pair($0.baseAddress!.assumingMemoryBound(to: Int32.self))
        }
        guard result == 0 else { throw .socket(call: "socketpair", errno: Errno(rawValue: -result)) }
        return (SeqPacketSocket(FileDescriptor(rawValue: fds.0)), SeqPacketSocket(FileDescriptor(rawValue: fds.1)))
    }

    /// sendmsg(MSG_NOSIGNAL) of one datagram with `fds` in SCM_RIGHTS. The fds stay open
    /// here (the kernel passes duplicates); the caller closes its copies. Retries on EINTR.
    /// A peer that hung up gives EPIPE, not SIGPIPE.
    public func send(_ bytes: [UInt8], fds: [FileDescriptor] = []) throws(ProtocolError) {
        let raw = fds.map(\.rawValue)
        while true {
            let sent = bytes.withUnsafeBytes { data in
                raw.withUnsafeBufferPointer { fdBuffer in
                    bh_send_with_fds(
                        fileDescriptor.rawValue, data.baseAddress, data.count, fdBuffer.baseAddress,
                        Int32(fdBuffer.count))
                }
            }
            if sent == -Int(EINTR) { continue }
            guard sent >= 0 else { throw .socket(call: "sendmsg", errno: Errno(rawValue: Int32(-sent))) }
            guard sent == bytes.count else {
                throw .socket(call: "sendmsg", errno: .messageTooLong)  // cannot happen on SEQPACKET
            }
            return
        }
    }

    /// recvmsg(MSG_CMSG_CLOEXEC) of one datagram into a buffer of `maxBytes`, with a control
    /// buffer for exactly `maxFDs` fds. Every fd that arrived is in the result, even when
    /// the datagram or its control data was truncated; the caller owns and must close them.
    /// Retries on EINTR. A zero-length result means the peer hung up.
    public func receive(
        maxBytes: Int = ProtocolLimits.maxMessageSize, maxFDs: Int = ProtocolLimits.maxFDs
    ) throws(ProtocolError) -> ReceivedDatagram {
        precondition(maxFDs >= 1 && maxFDs <= Int(BH_SOCKET_FD_CAPACITY), "fd capacity is 1...16")
        var info = bh_receive_result()
        var fds: [FileDescriptor] = []
        while true {
            var status: Int32 = 0
            let bytes = [UInt8](unsafeUninitializedCapacity: maxBytes) { buffer, count in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: Int(BH_SOCKET_FD_CAPACITY)) { raw in
                    status = bh_receive_with_fds(
                        fileDescriptor.rawValue, buffer.baseAddress, maxBytes, Int32(maxFDs),
                        raw.baseAddress, &info)
                    if status == 0 {
                        for i in 0..<Int(info.fd_count) { fds.append(FileDescriptor(rawValue: raw[i])) }
                    }
                }
                count = status == 0 ? Int(info.length) : 0
            }
            if status == -EINTR { continue }
            guard status == 0 else { throw .socket(call: "recvmsg", errno: Errno(rawValue: -status)) }
            return ReceivedDatagram(
                bytes: bytes, fds: fds, dataTruncated: info.data_truncated != 0,
                controlTruncated: info.control_truncated != 0, foreignControl: info.foreign_control != 0)
        }
    }

    /// setsockopt(SO_RCVTIMEO): a receive waiting longer fails with EAGAIN. 0 waits forever.
    public func setReceiveTimeout(microseconds: Int) throws(ProtocolError) {
        let result = bh_set_receive_timeout(fileDescriptor.rawValue, microseconds)
        guard result == 0 else { throw .socket(call: "setsockopt(SO_RCVTIMEO)", errno: Errno(rawValue: -result)) }
    }

    /// close(2). Errors are ignored: the fd is gone either way on Linux.
    public func close() { try? fileDescriptor.close() }
}
