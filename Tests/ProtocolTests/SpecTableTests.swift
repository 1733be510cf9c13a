import BulkheadProtocol
import Foundation
import Testing

/// PROTOCOL.md and the code must say the same thing: the command table, the error codes
/// and the limits are parsed from the spec and compared with the catalog.
@Suite struct SpecTableTests {
    static let specPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/PROTOCOL.md").path

    func spec() throws -> String { try String(contentsOfFile: Self.specPath, encoding: .utf8) }

    /// The rows of the first Markdown table after the line containing `marker`.
    func tableRows(after marker: String) throws -> [[String]] {
        let lines = try spec().components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.contains(marker) }) else { return [] }
        var rows: [[String]] = []
        for line in lines[(start + 1)...] {
            guard line.hasPrefix("|") else {
                if rows.isEmpty { continue } else { break }
            }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
            rows.append(cells.map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return rows
    }

    @Test func commandTableInProtocolMDMatchesTheCatalog() throws {
        let rows = try tableRows(after: "<!-- command-table")
        try #require(rows.count >= 2, "the command table is in PROTOCOL.md")
        #expect(rows[0] == CatalogDocument.columns)
        let documented = Array(rows.dropFirst(2))
        let declared = CommandCatalog.all.map(CatalogDocument.cells(of:))
        #expect(documented.map { $0.first ?? "" } == declared.map { $0[0] }, "same commands, same order")
        for (doc, code) in zip(documented, declared) { #expect(doc == code) }
    }

    @Test func everyRequestTakesNoFDsAsTheSpecSays() {
        for command in CommandCatalog.all { #expect(command.requestFDs == 0, "\(command.name)") }
    }

    @Test func errorCodeTableMatchesProtocolError() throws {
        let rows = try tableRows(after: "### Error codes").dropFirst(2)
        let documented = rows.map { ($0[0], $0[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))) }
        let declared = ProtocolError.codeNames.sorted { $0.key < $1.key }.map { (String($0.key), $0.value) }
        #expect(documented.map(\.0) == declared.map(\.0))
        #expect(documented.map(\.1) == declared.map(\.1))
    }

    @Test func limitsTableMatchesProtocolLimits() throws {
        let rows = try tableRows(after: "## 4. Limits").dropFirst(2)
        let values = Dictionary(uniqueKeysWithValues: rows.map { ($0[0], $0[1]) })
        #expect(values["datagram, header included"] == "\(ProtocolLimits.maxMessageSize) bytes")
        #expect(values["header"] == "\(ProtocolLimits.headerSize) bytes")
        #expect(values["body"] == "\(ProtocolLimits.maxBodySize) bytes")
        #expect(values["fds per message"] == "\(ProtocolLimits.maxFDs)")
        #expect(values["`strings` entries"] == "\(ProtocolLimits.maxListCount)")
        #expect(values["error reply message"]?.hasPrefix("\(ErrorReply.maxMessageBytes) bytes") == true)
        #expect(values["`bytes` / `string` value"]?.hasPrefix("\(ProtocolLimits.maxFieldLength) bytes") == true)
    }

    @Test func catalogIdsAndNamesAreUnique() {
        #expect(Set(CommandCatalog.all.map(\.id)).count == CommandCatalog.all.count)
        #expect(Set(CommandCatalog.all.map(\.name)).count == CommandCatalog.all.count)
    }

    @Test func catalogDeclaresTheIssuesStatementsAndGroups() {
        #expect(CommandCatalog.blockOpen.security == .secure && CommandCatalog.blockOpen.replyFDs == 1)
        #expect(CommandCatalog.netOpenTap.security == .secure && CommandCatalog.netOpenTap.replyFDs == 1)
        #expect(CommandCatalog.execRunHook.groups == [.unrestricted] && CommandCatalog.execRunHook.security == nil)
        #expect(CommandCatalog.echo.groups == [.testOnly])
    }

    @Test func jsonCatalogListsEveryCommand() {
        let text = CatalogDocument.rendered(as: .json)
        for command in CommandCatalog.all { #expect(text.contains("\"name\": \"\(command.name)\"")) }
        #expect(text.contains("\"security\": null"))
    }
}
