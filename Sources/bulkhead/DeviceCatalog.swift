import BulkheadProtocol
import JSONText

/// Everything a VM can be built from, each with its security statement (DESIGN.md §6):
/// device models the worker emulates, backends that reach the host, the seccomp modes and
/// the helper commands (straight from the protocol's CommandCatalog, so they cannot drift).
/// `bulkhead devices` prints it; `SecurityPolicy` judges a configuration against it.
enum DeviceCatalog {
    enum Kind: String {
        case device
        case backend
        case seccomp = "seccomp-mode"
        case command = "helper-command"
    }

    struct Entry {
        let kind: Kind
        let name: String
        let statement: SecurityStatement?
        let groups: [FeatureGroup]
        let summary: String

        var statementText: String { statement?.rawValue ?? "none" }
    }

    static let serial = Entry(
        kind: .device, name: "serial-16550", statement: .secure, groups: [],
        summary: "16550A UART at 0x3f8, IRQ 4: the console (always present)")
    static let debugExit = Entry(
        kind: .device, name: "debug-exit", statement: .secure, groups: [],
        summary: "port 0x501: the guest powers off with a status byte (always present)")
    static let virtioBlock = Entry(
        kind: .device, name: "virtio-blk", statement: .secure, groups: [],
        summary: "virtio-mmio block device over a block-helper fd (--disk)")
    static let virtioNet = Entry(
        kind: .device, name: "virtio-net", statement: .secure, groups: [],
        summary: "virtio-mmio network device over a net-helper tap fd (--net)")
    static let escapeProbe = Entry(
        kind: .device, name: "escape-probe", statement: .insecure, groups: [.testOnly],
        summary: "runs any syscall the guest asks for on the vCPU or io thread: tests the filters (--device escape-probe)")

    static let fileBackend = Entry(
        kind: .backend, name: "file", statement: .secure, groups: [],
        summary: "a declared file or block device, opened by the block helper (--disk, --kernel, --initrd)")
    static let tapBackend = Entry(
        kind: .backend, name: "tap", statement: .secure, groups: [],
        summary: "a declared, existing tap interface, attached by the net helper (--net)")
    static let hookBackend = Entry(
        kind: .backend, name: "hook", statement: nil, groups: [.unrestricted],
        summary: "a declared host program, run by the exec helper (--hook)")

    static func seccompMode(_ mode: String) -> Entry {
        switch mode {
        case "kill": Entry(kind: .seccomp, name: "kill", statement: .secure, groups: [], summary: "a forbidden call kills the process (default)")
        case "trap": Entry(kind: .seccomp, name: "trap", statement: .secure, groups: [], summary: "a forbidden call is reported by a SIGSYS handler, then the process exits 159")
        case "log": Entry(kind: .seccomp, name: "log", statement: .insecure, groups: [], summary: "forbidden calls are allowed and logged: profiling only")
        default: Entry(kind: .seccomp, name: "none", statement: .insecure, groups: [], summary: "no filters at all: measurement only")
        }
    }

    /// Devices an operator may add with --device.
    static let optionalDevices = [escapeProbe]

    static func command(_ spec: CommandSpec) -> Entry {
        Entry(kind: .command, name: spec.name, statement: spec.security, groups: spec.groups, summary: spec.summary)
    }

    static var all: [Entry] {
        [serial, debugExit, virtioBlock, virtioNet, escapeProbe, fileBackend, tapBackend, hookBackend]
            + ["kill", "trap", "log", "none"].map(seccompMode)
            + CommandCatalog.all.map(command)
    }

    static func rendered(json: Bool) -> String {
        if json {
            let entries: [JSONValue] = all.map { entry in
                .object([
                    ("kind", .string(entry.kind.rawValue)), ("name", .string(entry.name)),
                    ("statement", entry.statement.map { .string($0.rawValue) } ?? .null),
                    ("groups", .array(entry.groups.map { .string($0.rawValue) })),
                    ("summary", .string(entry.summary)),
                ])
            }
            return JSONValue.object([("entries", .array(entries))]).rendered() + "\n"
        }
        var out = "kind".padded(16) + "name".padded(15) + "statement".padded(11) + "groups".padded(13) + "summary\n"
        for entry in all {
            let groups = entry.groups.isEmpty ? "-" : entry.groups.map(\.rawValue).joined(separator: ",")
            out += entry.kind.rawValue.padded(16) + entry.name.padded(15) + entry.statementText.padded(11)
                + groups.padded(13) + entry.summary + "\n"
        }
        return out
    }
}
