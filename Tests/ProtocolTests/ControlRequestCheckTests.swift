import BulkheadProtocol
import Testing

/// The control socket's gate is by feature group only: a command nobody listed by name is
/// refused once its group is denied (issue 14's lesson from QEMU's guest agent).
@Suite struct ControlRequestCheckTests {
    /// A command only this test knows, in the `lifecycle` group.
    static let registeredByTheTest = CommandSpec(
        id: 0x7F00, name: "test.later-lifecycle", helper: .control, summary: "added after the deny list was written",
        arguments: [], reply: [], groups: [.lifecycle], security: .secure)

    static func request(_ command: CommandSpec, id: UInt32 = 9) -> ReceivedDatagram {
        ReceivedDatagram(
            bytes: MessageHeader.datagram(kind: .request, requestID: id, commandID: command.id, body: [], fdCount: 0), fds: [])
    }

    @Test func aCommandAddedLaterToADeniedGroupIsRefused() {
        let catalog = CommandCatalog.all + [Self.registeredByTheTest]
        var datagram = Self.request(Self.registeredByTheTest)
        guard case .error(let error, let requestID, _, _) = RequestCheck.check(&datagram, served: .control, denied: [.lifecycle], catalog: catalog) else {
            Issue.record("served although its group is denied")
            return
        }
        #expect(error == .commandDenied(command: "test.later-lifecycle", group: "lifecycle"))
        #expect(requestID == 9)
        var allowed = Self.request(Self.registeredByTheTest)
        guard case .request(let request) = RequestCheck.check(&allowed, served: .control, denied: [.inspect], catalog: catalog) else {
            Issue.record("refused although only inspect is denied")
            return
        }
        #expect(request.command.name == "test.later-lifecycle")
    }

    @Test func controlCommandsAreNotServedByHelpersNorHelperCommandsByTheControlSocket() {
        var info = Self.request(CommandCatalog.info)
        guard case .error(let error, _, _, _) = RequestCheck.check(&info, served: .block, denied: []) else {
            Issue.record("a helper accepted info")
            return
        }
        #expect(error == .notServedHere(command: "info", helper: "block"))
        var open = Self.request(CommandCatalog.blockOpen)
        guard case .error(let refused, _, _, _) = RequestCheck.check(&open, served: .control, denied: []) else {
            Issue.record("the control socket accepted block.open")
            return
        }
        #expect(refused == .notServedHere(command: "block.open", helper: "control"))
    }
}
