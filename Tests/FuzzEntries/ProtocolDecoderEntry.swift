import BulkheadProtocol

/// The protocol decoder (Protocol/): one datagram through the checks `RequestServer` and
/// `RequestClient` make (header, catalog lookup, body shape), then every typed decoder on
/// the body. Verdicts: a header or body that decodes re-encodes to the same bytes, and a
/// body that matches a command's shape decodes as that command's typed message.
public enum ProtocolDecoderEntry {
    public static func run(_ datagram: [UInt8]) -> FuzzOutcome {
        let address = MessageHeader.replyAddress(of: datagram)
        let header: MessageHeader
        do { header = try MessageHeader.decode(datagram) } catch {
            check(datagram.count < 24 || address == MessageHeader.replyAddress(of: datagram), "replyAddress is pure")
            // The body decoders take any bytes too: try them on the raw input.
            decodeEveryMessage(datagram)
            return .refused(error.description)
        }
        var encoded: [UInt8] = []
        header.encode(into: &encoded)
        check(encoded == Array(datagram.prefix(24)), "a decoded header re-encodes to its bytes")
        check(address == (header.requestID, header.commandID), "replyAddress names the decoded request")
        check(Int(header.bodyLength) == datagram.count - 24, "bodyLength is the carried length")

        let body = Array(datagram[24...])
        decodeEveryMessage(body)
        guard let command = CommandCatalog.command(id: header.commandID) else {
            return .refused("unknown command \(header.commandID)")
        }
        switch header.kind {
        case .request:
            do { try BodyReader.validate(body, against: command.arguments) } catch { return .refused(error.description) }
            check(decodesAsRequest(body, of: command), "\(command.name): a body of the argument shape decodes")
        case .reply:
            do { try BodyReader.validate(body, against: command.reply) } catch { return .refused(error.description) }
            check(decodesAsReply(body, of: command), "\(command.name): a body of the reply shape decodes")
        case .error:
            do { try BodyReader.validate(body, against: CommandCatalog.errorReply) } catch { return .refused(error.description) }
            check(roundTrips(ErrorReply.self, body) == true, "an error body of the error shape decodes")
        }
        return .accepted
    }

    /// Every typed message on `body`: nil (refused) or a value that re-encodes to `body`.
    static func decodeEveryMessage(_ body: [UInt8]) {
        for command in CommandCatalog.all {
            _ = decodesAsRequest(body, of: command)
            _ = decodesAsReply(body, of: command)
        }
        _ = roundTrips(ErrorReply.self, body)
    }

    static func decodesAsRequest(_ body: [UInt8], of command: CommandSpec) -> Bool {
        let decoded: Bool?
        switch command.id {
        case CommandCatalog.hello.id: decoded = roundTrips(HelloRequest.self, body)
        case CommandCatalog.echo.id: decoded = roundTrips(EchoRequest.self, body)
        case CommandCatalog.blockOpen.id: decoded = roundTrips(BlockOpenRequest.self, body)
        case CommandCatalog.netOpenTap.id: decoded = roundTrips(NetOpenTapRequest.self, body)
        case CommandCatalog.execRunHook.id: decoded = roundTrips(ExecRunHookRequest.self, body)
        case CommandCatalog.stop.id: decoded = roundTrips(StopRequest.self, body)
        default: decoded = nil
        }
        let shaped = (try? BodyReader.validate(body, against: command.arguments)) != nil
        if let decoded { check(decoded == shaped, "\(command.name) request: typed decoder and shape agree") }
        return decoded ?? shaped
    }

    static func decodesAsReply(_ body: [UInt8], of command: CommandSpec) -> Bool {
        let decoded: Bool?
        switch command.id {
        case CommandCatalog.hello.id: decoded = roundTrips(HelloReply.self, body)
        case CommandCatalog.echo.id: decoded = roundTrips(EchoReply.self, body)
        case CommandCatalog.blockOpen.id: decoded = roundTrips(BlockOpenReply.self, body)
        case CommandCatalog.netOpenTap.id: decoded = roundTrips(NetOpenTapReply.self, body)
        case CommandCatalog.execRunHook.id: decoded = roundTrips(ExecRunHookReply.self, body)
        case CommandCatalog.info.id: decoded = roundTrips(InfoReply.self, body)
        case CommandCatalog.metrics.id: decoded = roundTrips(MetricsReply.self, body)
        case CommandCatalog.pause.id, CommandCatalog.resume.id, CommandCatalog.stop.id: decoded = roundTrips(StateReply.self, body)
        default: decoded = nil
        }
        let shaped = (try? BodyReader.validate(body, against: command.reply)) != nil
        if let decoded {
            if command.id == CommandCatalog.metrics.id {
                // MetricsReply also checks its string's content (canonical NAME VALUE lines), so it
                // may refuse what the shape accepts, never accept what the shape refuses.
                check(!decoded || shaped, "\(command.name) reply: the typed decoder accepts only what the shape does")
            } else {
                check(decoded == shaped, "\(command.name) reply: typed decoder and shape agree")
            }
        }
        return decoded ?? shaped
    }

    /// Decodes `body` as `Message`; when it decodes, its encoding must be `body` again.
    static func roundTrips<Message: BodyCodable>(_ type: Message.Type, _ body: [UInt8]) -> Bool {
        guard let message = try? Message.decode(body) else { return false }
        check(message.body == body, "\(Message.self) re-encodes to the bytes it was decoded from")
        return true
    }
}
