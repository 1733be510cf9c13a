import SystemPackage

/// One datagram as recvmsg delivered it: the bytes that fit, every fd that arrived (owned
/// by whoever holds this value) and the kernel's truncation flags.
public struct ReceivedDatagram: Sendable {
    public var bytes: [UInt8]
    public var fds: [FileDescriptor]
    /// MSG_TRUNC: the datagram was longer than the buffer; the tail is lost.
    public var dataTruncated: Bool
    /// MSG_CTRUNC: more fds were sent than the receiver takes; the kernel dropped the excess.
    public var controlTruncated: Bool
    /// A control message other than SCM_RIGHTS arrived.
    public var foreignControl: Bool

    public init(
        bytes: [UInt8], fds: [FileDescriptor], dataTruncated: Bool = false,
        controlTruncated: Bool = false, foreignControl: Bool = false
    ) {
        self.bytes = bytes
        self.fds = fds
        self.dataTruncated = dataTruncated
        self.controlTruncated = controlTruncated
        self.foreignControl = foreignControl
    }

    /// recvmsg returned 0: the peer hung up (or sent an empty datagram, which Linux cannot
    /// tell apart; PROTOCOL.md treats both as a hang-up).
    public var isHangUp: Bool { bytes.isEmpty }

    /// close(2) on every fd that arrived, at once; the value holds none afterwards.
    public mutating func closeFDs() {
        for fd in fds { try? fd.close() }
        fds.removeAll()
    }
}
