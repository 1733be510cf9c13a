import BulkheadProtocol

/// The operator's policy flags (DESIGN.md §6), applied to everything a configuration would
/// use before anything starts. Secure by default: what is declared insecure (the escape
/// probe, `--seccomp log|none`) is refused unless the operator says `--allow-insecure`.
struct SecurityPolicy {
    /// --allow-insecure: let what is declared insecure run (tests, profiling, measurements).
    let allowInsecure: Bool
    /// --prohibit-insecure: refuse what is declared insecure, even with --allow-insecure.
    let prohibitInsecure: Bool
    /// --require-secure: refuse what is not declared secure (insecure or no statement).
    let requireSecure: Bool
    /// --deny-feature GROUP: refuse every entry in these groups, present and future.
    let deniedGroups: [FeatureGroup]

    /// One thing a configuration uses, and the option that makes it use it.
    struct Use {
        let entry: DeviceCatalog.Entry
        let neededBy: String
    }

    /// Every device, backend, seccomp mode and helper command `configuration` would use.
    /// A helper uses `hello` and the commands it serves itself (not the test-only `echo`,
    /// which no run calls).
    static func uses(of configuration: RunConfiguration) -> [Use] {
        var uses = [
            Use(entry: DeviceCatalog.serial, neededBy: "the console"),
            Use(entry: DeviceCatalog.debugExit, neededBy: "guest power-off"),
            Use(entry: DeviceCatalog.seccompMode(configuration.seccomp.rawValue), neededBy: "--seccomp \(configuration.seccomp.rawValue)"),
        ]
        if configuration.escapeProbe { uses.append(Use(entry: DeviceCatalog.escapeProbe, neededBy: "--device escape-probe")) }
        for helper in LaunchPlan.helpers(for: configuration) {
            let backend: DeviceCatalog.Entry =
                switch helper.kind {
                case .block: DeviceCatalog.fileBackend
                case .net: DeviceCatalog.tapBackend
                default: DeviceCatalog.hookBackend
                }
            uses.append(Use(entry: backend, neededBy: helper.neededBy))
            for command in [CommandCatalog.hello] + CommandCatalog.all.filter({ $0.helper == helper.kind }) {
                uses.append(Use(entry: DeviceCatalog.command(command), neededBy: helper.neededBy))
            }
        }
        if !configuration.disks.isEmpty {
            uses.append(Use(entry: DeviceCatalog.virtioBlock, neededBy: "--disk \(configuration.disks[0].path)"))
        }
        if !configuration.nets.isEmpty {
            uses.append(Use(entry: DeviceCatalog.virtioNet, neededBy: "--net tap=\(configuration.nets[0].tap)"))
        }
        return uses
    }

    /// Throws naming every refused use, what it is, why, and which flag refused it.
    func check(_ configuration: RunConfiguration) throws {
        var refusals: [String] = []
        for use in Self.uses(of: configuration) {
            let what = "\(use.entry.kind.rawValue) \(use.entry.name) (needed by \(use.neededBy))"
            if prohibitInsecure, use.entry.statement == .insecure {
                refusals.append("\(what) is declared insecure; refused by --prohibit-insecure")
            } else if requireSecure, use.entry.statement != .secure {
                let statement = use.entry.statement == .insecure ? "is declared insecure" : "has no security statement"
                refusals.append("\(what) \(statement); refused by --require-secure")
            } else if !allowInsecure, use.entry.statement == .insecure {
                refusals.append("\(what) is declared insecure; refused without --allow-insecure")
            } else if let group = use.entry.groups.first(where: deniedGroups.contains) {
                refusals.append("\(what) is in feature group \(group.rawValue); refused by --deny-feature \(group.rawValue)")
            }
        }
        var seen = Set<String>()
        refusals = refusals.filter { seen.insert($0).inserted }
        guard refusals.isEmpty else { throw PolicyRefusal(description: refusals.joined(separator: "\nbulkhead: refused: ")) }
    }
}
