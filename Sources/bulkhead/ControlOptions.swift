import ArgumentParser
import BulkheadProtocol
import Glibc
import RunSpecs
import Vocabulary

/// `bulkhead run` options for the VM's control socket (README "Operating a running VM").
struct ControlOptions: ParsableArguments {
    @Option(help: "Members of GROUP may use the control socket /run/bulkhead/NAME/control (root and the VM's owner always may).")
    var controlGroup: String?

    @Option(
        name: .customLong("deny-control-feature"),
        help: "Refuse every control command in this feature group: inspect, lifecycle or console (repeatable).")
    var deniedControlFeatures: [String] = []
}

/// ControlOptions once checked: the group's gid and the denied groups. Its own validator,
/// so the run options' families stay apart.
struct ControlSettings: Equatable {
    let groupID: gid_t?
    let groupName: String?
    let denied: Set<FeatureGroup>

    /// The groups an operator may deny on the control socket (`test-only` is always denied).
    static let deniable: [FeatureGroup] = [.inspect, .lifecycle, .console]

    init(_ options: ControlOptions) throws(ConfigurationError) {
        var denied: Set<FeatureGroup> = []
        for name in options.deniedControlFeatures {
            guard let group = FeatureGroup(rawValue: name), Self.deniable.contains(group) else {
                throw ConfigurationError(
                    "--deny-control-feature \(name)",
                    "unknown control feature group; groups are \(Self.deniable.map(\.rawValue).joined(separator: ", "))")
            }
            denied.insert(group)
        }
        self.denied = denied
        groupName = options.controlGroup
        guard let name = options.controlGroup else {
            groupID = nil
            return
        }
        guard Names.isValidVMName(name), let entry = getgrnam(name) else {
            throw ConfigurationError("--control-group \(name)", "no such group")
        }
        groupID = entry.pointee.gr_gid
    }
}
