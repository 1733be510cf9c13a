import BulkheadProtocol
import Foundation
import Testing
import TestSupport

/// `bulkhead protocol` prints the catalog from the same declarations as the code.
@Suite struct CLITests {
    func runBulkhead(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = BuiltProducts.url("bulkhead")
        process.arguments = arguments
        process.environment = ["SWIFT_BACKTRACE": "enable=no"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func protocolCommandPrintsTheCommandTable() throws {
        let run = try runBulkhead(["protocol"])
        #expect(run.status == 0)
        #expect(run.output.hasPrefix(CatalogDocument.tableText()))
    }

    @Test func protocolCommandPrintsJSONThatParses() throws {
        let run = try runBulkhead(["protocol", "--format", "json"])
        #expect(run.status == 0)
        let document = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any]
        let commands = document?["commands"] as? [[String: Any]] ?? []
        #expect(commands.compactMap { $0["name"] as? String } == CommandCatalog.all.map(\.name))
        #expect(commands.first { $0["name"] as? String == "block.open" }?["reply_fds"] as? Int == 1)
        #expect(commands.first { $0["name"] as? String == "exec.run-hook" }?["groups"] as? [String] == ["unrestricted"])
    }
}
