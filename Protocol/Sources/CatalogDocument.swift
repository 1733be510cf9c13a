import JSONText

/// The command catalog as `bulkhead protocol` prints it: a Markdown table (the same one
/// PROTOCOL.md carries, checked by a test) or a JSON document.
public enum CatalogDocument {
    public enum Format: String, CaseIterable, Sendable {
        case text
        case json
    }

    public static func rendered(as format: Format) -> String {
        switch format {
        case .text: tableText() + "\n" + limitsText()
        case .json: json.rendered() + "\n"
        }
    }

    /// The column titles of the command table.
    public static let columns = ["command", "id", "helper", "arguments", "reply", "fds", "groups", "security"]

    /// One command's row, cell by cell, as PROTOCOL.md spells it.
    public static func cells(of command: CommandSpec) -> [String] {
        [
            "`\(command.name)`", String(command.id), command.helper.rawValue,
            shape(command.arguments), shape(command.reply), String(command.replyFDs),
            command.groups.isEmpty ? "-" : command.groups.map(\.rawValue).joined(separator: ", "),
            command.security?.rawValue ?? "-",
        ]
    }

    /// The Markdown command table.
    public static func tableText() -> String {
        var out = row(columns) + row(columns.map { _ in "---" })
        for command in CommandCatalog.all { out += row(cells(of: command)) }
        return out
    }

    static func limitsText() -> String {
        """
        protocol version \(ProtocolLimits.version); header \(ProtocolLimits.headerSize) bytes; \
        max message \(ProtocolLimits.maxMessageSize) bytes; max fds \(ProtocolLimits.maxFDs); \
        max field \(ProtocolLimits.maxFieldLength) bytes; max list \(ProtocolLimits.maxListCount) entries\n
        """
    }

    public static var json: JSONValue {
        .object([
            (
                "protocol",
                .object([
                    ("version", .integer(Int64(ProtocolLimits.version))),
                    ("header_bytes", .integer(Int64(ProtocolLimits.headerSize))),
                    ("max_message_bytes", .integer(Int64(ProtocolLimits.maxMessageSize))),
                    ("max_fds", .integer(Int64(ProtocolLimits.maxFDs))),
                    ("max_field_bytes", .integer(Int64(ProtocolLimits.maxFieldLength))),
                    ("max_list_entries", .integer(Int64(ProtocolLimits.maxListCount))),
                ])
            ),
            ("commands", .array(CommandCatalog.all.map(json(of:)))),
            (
                "errors",
                .array(
                    ProtocolError.codeNames.sorted { $0.key < $1.key }.map {
                        .object([("code", .integer(Int64($0.key))), ("name", .string($0.value))])
                    })
            ),
        ])
    }

    static func json(of command: CommandSpec) -> JSONValue {
        .object([
            ("name", .string(command.name)),
            ("id", .integer(Int64(command.id))),
            ("helper", .string(command.helper.rawValue)),
            ("summary", .string(command.summary)),
            ("arguments", .array(command.arguments.map(json(of:)))),
            ("request_fds", .integer(Int64(command.requestFDs))),
            ("reply", .array(command.reply.map(json(of:)))),
            ("reply_fds", .integer(Int64(command.replyFDs))),
            ("groups", .array(command.groups.map { .string($0.rawValue) })),
            ("security", command.security.map { .string($0.rawValue) } ?? .null),
        ])
    }

    static func json(of field: FieldSpec) -> JSONValue {
        var members: [(String, JSONValue)] = [("name", .string(field.name))]
        if case .enumeration(let cases) = field.type {
            members.append(("type", "enum"))
            members.append(("cases", .array(cases.map { .string($0) })))
        } else {
            members.append(("type", .string(field.type.description)))
        }
        return .object(members)
    }

    private static func shape(_ fields: [FieldSpec]) -> String {
        fields.isEmpty ? "-" : fields.map(\.description).joined(separator: ", ")
    }

    private static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |\n" }
}
