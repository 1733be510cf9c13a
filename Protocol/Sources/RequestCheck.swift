import Vocabulary

/// The checks every server applies to one received datagram before anything acts on it
/// (PROTOCOL.md §6, in that order): the helpers' `RequestServer` and the VM's control socket
/// share them. A datagram either becomes an `IncomingRequest` or an error to send back; in
/// the error case every fd that came with it is already closed.
public enum RequestCheck {
    public enum Outcome: Sendable {
        case request(IncomingRequest)
        /// Send `error` back addressed to `requestID`/`commandID`; `endsConnection` after a
        /// version mismatch (nothing more can be understood).
        case error(ProtocolError, requestID: UInt32, commandID: UInt16, endsConnection: Bool)
    }

    /// `served`: the server's kind (its commands and the protocol's `any` ones); `denied`:
    /// groups refused as a whole, whatever the command; `catalog`: the commands it knows.
    public static func check(
        _ datagram: inout ReceivedDatagram, served: HelperKind, denied: Set<FeatureGroup>,
        catalog: [CommandSpec] = CommandCatalog.all
    ) -> Outcome {
        let address = MessageHeader.replyAddress(of: datagram.bytes)
        func fail(_ error: ProtocolError) -> Outcome {
            datagram.closeFDs()
            return .error(error, requestID: address.requestID, commandID: address.commandID, endsConnection: false)
        }
        if datagram.controlTruncated || datagram.fds.count > ProtocolLimits.maxFDs {
            return fail(.tooManyFDs("more than \(ProtocolLimits.maxFDs) fds were sent"))
        }
        if datagram.foreignControl { return fail(.unexpectedControlMessage) }
        if datagram.dataTruncated {
            return fail(.oversized("datagram longer than \(ProtocolLimits.maxMessageSize) bytes"))
        }
        let header: MessageHeader
        do { header = try MessageHeader.decode(datagram.bytes) } catch {
            datagram.closeFDs()
            if case .unsupportedVersion = error { return .error(error, requestID: 0, commandID: 0, endsConnection: true) }
            return .error(error, requestID: address.requestID, commandID: address.commandID, endsConnection: false)
        }
        guard header.kind == .request else { return fail(.badKind(header.kind.rawValue)) }
        guard Int(header.fdCount) == datagram.fds.count else {
            return fail(.fdCountMismatch(declared: Int(header.fdCount), received: datagram.fds.count))
        }
        guard let command = catalog.first(where: { $0.id == header.commandID }) else {
            return fail(.unknownCommand(header.commandID))
        }
        guard command.isServed(by: served) else {
            return fail(.notServedHere(command: command.name, helper: served.rawValue))
        }
        if let group = command.groups.first(where: denied.contains) {
            return fail(.commandDenied(command: command.name, group: group.rawValue))
        }
        guard datagram.fds.count <= command.requestFDs else {
            return fail(.unexpectedFDs(command: command.name, allowed: command.requestFDs, received: datagram.fds.count))
        }
        let body = Array(datagram.bytes[ProtocolLimits.headerSize...])
        do { try BodyReader.validate(body, against: command.arguments) } catch { return fail(error) }
        let request = IncomingRequest(command: command, requestID: header.requestID, body: body, fds: datagram.fds)
        datagram.fds = []  // the request owns them now
        return .request(request)
    }
}
