/// Byte 6 of the header: what a datagram is.
public enum MessageKind: UInt8, Sendable {
    /// A command with its arguments, client to server.
    case request = 1
    /// The command's reply shape (and its fds), server to client.
    case reply = 2
    /// An error reply: body {code: u32, message: string}, never fds.
    case error = 3
}
