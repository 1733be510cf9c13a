import ArgumentParser

/// `bulkhead devices [--format text|json]`: every device model, backend, seccomp mode and
/// helper command with its security statement and feature groups (DESIGN.md §6).
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List device models, backends and helper commands with their security statements.")

    @Option(help: "text or json.")
    var format: CheckCommand.Format = .text

    func run() throws {
        print(DeviceCatalog.rendered(json: format == .json), terminator: "")
    }
}
