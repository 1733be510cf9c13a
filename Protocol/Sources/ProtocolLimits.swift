/// The hard limits every Bulkhead peer enforces (PROTOCOL.md, "Limits"). They are part of
/// protocol version 1: changing one changes the version.
public enum ProtocolLimits {
    /// The protocol version this library speaks.
    public static let version: UInt16 = 1
    /// Bytes of the fixed header that starts every datagram.
    public static let headerSize = 24
    /// The largest datagram, header included. A longer one is rejected as oversized.
    public static let maxMessageSize = 8192
    /// The largest body: what is left of the largest datagram after the header.
    public static let maxBodySize = maxMessageSize - headerSize
    /// The most fds one message may carry in SCM_RIGHTS.
    public static let maxFDs = 4
    /// The longest `bytes` or `string` field value: a PATH_MAX path fits.
    public static let maxFieldLength = 4096
    /// The most entries in a `strings` field.
    public static let maxListCount = 64
}
