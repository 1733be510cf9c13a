/// `net.open-tap`: a tap interface name. The tap is attached IFF_TAP|IFF_NO_PI: the virtio-net
/// device passes plain Ethernet frames, so the helper offers no vnet header to ask for.
public struct NetOpenTapRequest: RequestMessage, Equatable {
    public typealias Reply = NetOpenTapReply
    public static let command = CommandCatalog.netOpenTap
    public var name: String

    public init(name: String) { self.name = name }

    public func encode(into w: inout BodyWriter) {
        w.string(name)
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        name = try r.string("name")
    }
}

/// `net.open-tap` reply: the name the kernel attached; the tun fd travels beside it.
public struct NetOpenTapReply: BodyCodable, Equatable {
    public var name: String

    public init(name: String) { self.name = name }
    public func encode(into w: inout BodyWriter) { w.string(name) }
    public init(from r: inout BodyReader) throws(ProtocolError) { name = try r.string("name") }
}
