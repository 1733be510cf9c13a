/// `net.open-tap`: a tap interface name and whether to ask for IFF_VNET_HDR.
public struct NetOpenTapRequest: RequestMessage, Equatable {
    public typealias Reply = NetOpenTapReply
    public static let command = CommandCatalog.netOpenTap
    public var name: String
    public var vnetHeader: Bool

    public init(name: String, vnetHeader: Bool) {
        self.name = name
        self.vnetHeader = vnetHeader
    }

    public func encode(into w: inout BodyWriter) {
        w.string(name)
        w.bool(vnetHeader)
    }

    public init(from r: inout BodyReader) throws(ProtocolError) {
        name = try r.string("name")
        vnetHeader = try r.bool("vnet_hdr")
    }
}

/// `net.open-tap` reply: the name the kernel attached; the tun fd travels beside it.
public struct NetOpenTapReply: BodyCodable, Equatable {
    public var name: String

    public init(name: String) { self.name = name }
    public func encode(into w: inout BodyWriter) { w.string(name) }
    public init(from r: inout BodyReader) throws(ProtocolError) { name = try r.string("name") }
}
