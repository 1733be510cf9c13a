import ArgumentParser
import BulkheadProtocol

/// `bulkhead protocol [--format text|json]`: the helper command catalog, printed from the
/// same declarations the helpers and the worker use (Protocol/PROTOCOL.md).
struct ProtocolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protocol",
        abstract: "Print the helper protocol's command catalog and limits.")

    @Option(help: "text or json.")
    var format: CatalogDocument.Format = .text

    func run() throws {
        print(CatalogDocument.rendered(as: format), terminator: "")
    }
}

extension CatalogDocument.Format: ExpressibleByArgument {}
