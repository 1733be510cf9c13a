import ArgumentParser
import Glibc

/// `bulkhead check [run options] [--format text|json]`: validates a configuration and its
/// policy and prints the launch plan without starting anything.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a run configuration and print its launch plan; starts nothing.",
        discussion: "Exit status: 0 valid; 64 usage; 65 bad configuration or policy refusal.")

    enum Format: String, ExpressibleByArgument {
        case text
        case json
    }

    @OptionGroup var options: RunOptions

    @Option(help: "text or json.")
    var format: Format = .text

    func run() throws {
        let plan: LaunchPlan
        do {
            plan = try RunCommand.plan(options)
        } catch {
            StandardError.line("\(error)")
            Glibc.exit(ExitStatus.configuration)
        }
        print(plan.rendered(json: format == .json), terminator: "")
    }
}
