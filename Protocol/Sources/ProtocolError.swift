import SystemPackage

/// Everything that can go wrong between two peers. Decoding never traps: every bound is
/// checked and reported as one of these. `code` is what travels in an error reply.
public enum ProtocolError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Fewer bytes than the header or a field needs.
    case truncated(String)
    /// The datagram (or a declared body) is larger than the limit.
    case oversized(String)
    case badMagic(UInt32)
    case unsupportedVersion(UInt16)
    /// The header's body length disagrees with the datagram.
    case lengthMismatch(declared: UInt32, actual: Int)
    /// More fds arrived (or were declared) than the limit; all that arrived were closed.
    case tooManyFDs(String)
    /// fds arrived on a message that takes fewer; all were closed.
    case unexpectedFDs(command: String, allowed: Int, received: Int)
    /// The header's fd count disagrees with the fds that arrived.
    case fdCountMismatch(declared: Int, received: Int)
    /// A control message other than SCM_RIGHTS arrived.
    case unexpectedControlMessage
    case nonzeroReserved
    case badKind(UInt8)
    case unknownCommand(UInt16)
    /// The command exists but another helper serves it.
    case notServedHere(command: String, helper: String)
    /// The command belongs to a feature group this server does not serve.
    case commandDenied(command: String, group: String)
    case malformedBody(String)
    /// The handler refused the request by policy; the reason names what and why.
    case refused(String)
    /// The handler broke the catalog's promise (e.g. wrong reply fd count). A bug.
    case internalError(String)
    /// The control socket's peer is neither root, the VM's owner nor in its --control-group.
    case peerRefused(String)
    /// The VM's state does not allow the command now (e.g. resume while running).
    case stateConflict(String)
    /// The peer answered with an error reply (client side).
    case remote(code: UInt32, message: String)
    /// A reply that does not belong to the request (client side).
    case unexpectedReply(String)
    /// The peer hung up (recvmsg returned 0).
    case peerHungUp
    /// A socket call failed; EAGAIN after a receive timeout.
    case socket(call: String, errno: Errno)

    /// The error code carried in an error reply's `code` field (PROTOCOL.md, "Error codes").
    public var code: UInt32 {
        switch self {
        case .truncated: 1
        case .oversized: 2
        case .badMagic: 3
        case .unsupportedVersion: 4
        case .lengthMismatch: 5
        case .tooManyFDs: 6
        case .unexpectedFDs: 7
        case .fdCountMismatch: 8
        case .unexpectedControlMessage: 9
        case .nonzeroReserved: 10
        case .badKind: 11
        case .unknownCommand: 12
        case .notServedHere: 13
        case .commandDenied: 14
        case .malformedBody: 15
        case .refused: 16
        case .internalError: 17
        case .peerRefused: 18
        case .stateConflict: 19
        case .remote(let code, _): code
        case .unexpectedReply, .peerHungUp, .socket: 17
        }
    }

    /// The names of the codes, in the order of PROTOCOL.md's error code table.
    public static let codeNames: [UInt32: String] = [
        1: "truncated", 2: "oversized", 3: "bad-magic", 4: "unsupported-version",
        5: "length-mismatch", 6: "too-many-fds", 7: "unexpected-fds", 8: "fd-count-mismatch",
        9: "unexpected-control-message", 10: "nonzero-reserved", 11: "bad-kind",
        12: "unknown-command", 13: "not-served-here", 14: "command-denied",
        15: "malformed-body", 16: "refused", 17: "internal-error", 18: "peer-refused", 19: "state-conflict",
    ]

    public var description: String {
        switch self {
        case .truncated(let what): "truncated: \(what)"
        case .oversized(let what): "oversized: \(what)"
        case .badMagic(let magic): "bad magic 0x\(String(magic, radix: 16))"
        case .unsupportedVersion(let v): "unsupported protocol version \(v); this peer speaks \(ProtocolLimits.version)"
        case .lengthMismatch(let declared, let actual):
            "body length mismatch: header declares \(declared) bytes, datagram carries \(actual)"
        case .tooManyFDs(let what): "too many fds: \(what) (limit \(ProtocolLimits.maxFDs)); all closed"
        case .unexpectedFDs(let command, let allowed, let received):
            "\(command) takes \(allowed) fds, \(received) arrived; all closed"
        case .fdCountMismatch(let declared, let received):
            "header declares \(declared) fds, \(received) arrived; all closed"
        case .unexpectedControlMessage: "a control message other than SCM_RIGHTS arrived"
        case .nonzeroReserved: "reserved header bytes must be zero"
        case .badKind(let kind): "message kind \(kind) is not a request"
        case .unknownCommand(let id): "unknown command id \(id)"
        case .notServedHere(let command, let helper): "\(command) is not served by the \(helper) helper"
        case .commandDenied(let command, let group): "\(command) is in feature group \(group), which is denied here"
        case .malformedBody(let what): "malformed body: \(what)"
        case .refused(let reason): "refused: \(reason)"
        case .internalError(let what): "internal error: \(what)"
        case .peerRefused(let why): "peer credentials refused: \(why)"
        case .stateConflict(let why): "the VM's state does not allow it: \(why)"
        case .remote(let code, let message):
            "peer answered \(Self.codeNames[code] ?? "error \(code)"): \(message)"
        case .unexpectedReply(let what): "unexpected reply: \(what)"
        case .peerHungUp: "the peer hung up"
        case .socket(let call, let errno): "\(call) failed: \(errno)"
        }
    }
}
