import ArgumentParser
import Sandbox

/// `bulkhead profiles [ROLE] [--format text|json|systemd]`: what each role may call,
/// printed from the same rules its filter is built from.
struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List the seccomp roles, or print one role's allow list.")

    @Argument(help: "A role: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
    var role: String?

    @Option(help: "text, json or systemd.")
    var format: ProfileDocument.Format = .text

    func run() throws {
        guard let name = role else {
            print("role         calls  budget  filter")
            for role in Role.allCases {
                let count = role.effectiveAllowList.count
                let budget = role.budget.map(String.init) ?? "-"
                let kind = role.stackedOn.map { "thread, stacked on \($0.rawValue)" } ?? "process"
                print(role.rawValue.padded(13) + String(count).padded(7) + budget.padded(8) + kind)
            }
            return
        }
        guard let role = Role(rawValue: name) else {
            throw ValidationError(
                "unknown role '\(name)'; roles are: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        print(ProfileDocument(role: role).rendered(as: format), terminator: "")
    }
}

extension ProfileDocument.Format: ExpressibleByArgument {}

extension String {
    func padded(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
