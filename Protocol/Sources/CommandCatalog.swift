import Vocabulary

/// Every command of protocol version 1, in one place (DESIGN.md §3). PROTOCOL.md's command
/// table is checked against this list by a test, and `bulkhead protocol` prints it.
public enum CommandCatalog {
    public static let accessCases = ["ro", "rw"]
    public static let fileKindCases = ["file", "blockdev"]

    public static let hello = CommandSpec(
        id: 1, name: "hello", helper: .any,
        summary: "version handshake: the client's version in, the helper's name, version and limits out",
        arguments: [FieldSpec("version", .u32)],
        reply: [
            FieldSpec("helper", .string), FieldSpec("version", .u32), FieldSpec("max_message", .u32),
            FieldSpec("max_fds", .u32), FieldSpec("max_field", .u32),
        ],
        security: .secure)

    public static let echo = CommandSpec(
        id: 2, name: "echo", helper: .any,
        summary: "returns its payload; for tests and the round-trip benchmark",
        arguments: [FieldSpec("payload", .bytes)],
        reply: [FieldSpec("payload", .bytes)],
        groups: [.testOnly], security: nil)

    public static let blockOpen = CommandSpec(
        id: 16, name: "block.open", helper: .block,
        summary: "opens a declared disk, kernel or initrd path with its declared access",
        arguments: [FieldSpec("path", .bytes), FieldSpec("access", .enumeration(accessCases))],
        reply: [
            FieldSpec("size", .u64), FieldSpec("access", .enumeration(accessCases)),
            FieldSpec("kind", .enumeration(fileKindCases)),
        ],
        replyFDs: 1, security: .secure)

    public static let netOpenTap = CommandSpec(
        id: 32, name: "net.open-tap", helper: .net,
        summary: "attaches a declared tap interface and returns its /dev/net/tun fd",
        arguments: [FieldSpec("name", .string)],
        reply: [FieldSpec("name", .string)],
        replyFDs: 1, security: .secure)

    public static let execRunHook = CommandSpec(
        id: 48, name: "exec.run-hook", helper: .exec,
        summary: "runs a declared hook program with declared arguments, a time limit and capped output",
        arguments: [FieldSpec("hook", .string), FieldSpec("args", .strings)],
        reply: [
            FieldSpec("exit_status", .i32), FieldSpec("signal", .i32), FieldSpec("stdout", .bytes),
            FieldSpec("truncated", .bool), FieldSpec("timed_out", .bool),
        ],
        groups: [.unrestricted], security: nil)

    // The VM's control socket (served by the sealed parent; README "Operating a running VM").
    public static let vmStateCases = ["running", "paused", "stopping"]

    public static let info = CommandSpec(
        id: 64, name: "info", helper: .control,
        summary: "the VM's state, vCPUs, memory, devices, uptime and process ids",
        arguments: [],
        reply: [
            FieldSpec("state", .enumeration(vmStateCases)), FieldSpec("vcpus", .u32), FieldSpec("memory_mib", .u32),
            FieldSpec("devices", .strings), FieldSpec("uptime_ms", .u64), FieldSpec("pids", .strings),
        ],
        groups: [.inspect], security: .secure)

    public static let metrics = CommandSpec(
        id: 65, name: "metrics", helper: .control,
        summary: "counters: VM exits by kind per vCPU, virtio requests/bytes/errors/ring resets per device, console bytes",
        arguments: [],
        reply: [FieldSpec("counters", .string)],
        groups: [.inspect], security: .secure)

    public static let pause = CommandSpec(
        id: 66, name: "pause", helper: .control,
        summary: "takes every vCPU out of KVM_RUN and holds it; answers once all are out",
        arguments: [],
        reply: [FieldSpec("state", .enumeration(vmStateCases))],
        groups: [.lifecycle], security: .secure)

    public static let resume = CommandSpec(
        id: 67, name: "resume", helper: .control,
        summary: "lets every held vCPU continue where it stopped",
        arguments: [],
        reply: [FieldSpec("state", .enumeration(vmStateCases))],
        groups: [.lifecycle], security: .secure)

    public static let stop = CommandSpec(
        id: 68, name: "stop", helper: .control,
        summary: "asks the guest to power off; after timeout_ms ends the VM (0: at once)",
        arguments: [FieldSpec("timeout_ms", .u32)],
        reply: [FieldSpec("state", .enumeration(vmStateCases))],
        groups: [.lifecycle], security: .secure)

    public static let reset = CommandSpec(
        id: 69, name: "reset", helper: .control,
        summary: "restarts the guest from its first instruction (the built-in test guest only); the VM runs after it",
        arguments: [],
        reply: [FieldSpec("state", .enumeration(vmStateCases))],
        groups: [.lifecycle], security: .secure)

    // `bulkhead console NAME`: one attached connection at a time; closing it detaches.
    public static let console = CommandSpec(
        id: 70, name: "console", helper: .control,
        summary: "attaches this connection to the guest's serial console (one at a time); closing the connection detaches",
        arguments: [],
        reply: [FieldSpec("state", .enumeration(vmStateCases))],
        groups: [.console], security: .secure)

    public static let consoleRead = CommandSpec(
        id: 71, name: "console.read", helper: .control,
        summary: "waits for what the guest wrote to its UART since the previous read (at most 4096 bytes); one read waits at a time",
        arguments: [],
        reply: [FieldSpec("output", .bytes)],
        groups: [.console], security: .secure)

    public static let consoleWrite = CommandSpec(
        id: 72, name: "console.write", helper: .control,
        summary: "bytes for the guest's UART receiver; answers how many were taken (send the rest again later)",
        arguments: [FieldSpec("input", .bytes)],
        reply: [FieldSpec("taken", .u32)],
        groups: [.console], security: .secure)

    /// Every command, ordered by id.
    public static let all: [CommandSpec] = [
        hello, echo, blockOpen, netOpenTap, execRunHook, info, metrics, pause, resume, stop, reset, console, consoleRead,
        consoleWrite,
    ]

    public static func command(id: UInt16) -> CommandSpec? { all.first { $0.id == id } }
    public static func command(named name: String) -> CommandSpec? { all.first { $0.name == name } }

    /// The commands a helper of `kind` answers (its own and the protocol's `any` commands).
    public static func commands(servedBy kind: HelperKind) -> [CommandSpec] { all.filter { $0.isServed(by: kind) } }

    /// The shape of every error reply (kind `error`), whatever the command.
    public static let errorReply = [FieldSpec("code", .u32), FieldSpec("message", .string)]
}
