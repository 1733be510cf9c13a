import ArgumentParser

@main
struct Bulkhead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulkhead",
        abstract: "A KVM virtual machine monitor split into confined processes.",
        subcommands: [
            RunCommand.self, CheckCommand.self, StatusCommand.self, DevicesCommand.self, ProfilesCommand.self, ProtocolCommand.self,
            UnitsCommand.self, CtlCommand.self, ConsoleCommand.self,
        ])
}
