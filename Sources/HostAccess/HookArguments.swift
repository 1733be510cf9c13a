/// The rules for hook arguments.
///
/// Fixed arguments come from the operator: any bytes but NUL, bounded in size and count.
/// Extra arguments come from a request, so they are held to a strict form: 1…128 bytes of
/// `A-Z a-z 0-9 _ . , : = @ +` and `-`, never starting with `-` (no option injection) and
/// never containing `/` or whitespace; and only as many as the hook declares.
public enum HookArguments {
    public static let maximumFixedCount = 64
    public static let maximumFixedLength = 4096
    public static let maximumExtraLimit = 16
    public static let maximumExtraLength = 128

    static func validateFixed(_ arguments: [String], hook: String) throws(HookRefusal) {
        if arguments.count > maximumFixedCount {
            throw .invalidDeclaration(
                hook: hook, reason: "\(arguments.count) arguments; the limit is \(maximumFixedCount)")
        }
        for (index, argument) in arguments.enumerated() {
            if argument.utf8.contains(0) {
                throw .invalidDeclaration(hook: hook, reason: "argument \(index + 1) contains a NUL byte")
            }
            if argument.utf8.count > maximumFixedLength {
                throw .invalidDeclaration(
                    hook: hook,
                    reason: "argument \(index + 1) is \(argument.utf8.count) bytes; the limit is \(maximumFixedLength)")
            }
        }
    }

    static func validateExtra(_ arguments: [String], hook: String, limit: Int) throws(HookRefusal) {
        if arguments.isEmpty { return }
        if limit == 0 { throw .extraArgumentsNotAllowed(hook: hook) }
        if arguments.count > limit {
            throw .tooManyExtraArguments(hook: hook, count: arguments.count, limit: limit)
        }
        for (index, argument) in arguments.enumerated() {
            let bytes = Array(argument.utf8)
            if let reason = problem(with: bytes) {
                throw .extraArgumentRefused(hook: hook, index: index, argument: bytes, reason: reason)
            }
        }
    }

    private static func problem(with bytes: [UInt8]) -> String? {
        if bytes.isEmpty { return "it is empty" }
        if bytes.count > maximumExtraLength {
            return "it is \(bytes.count) bytes; the limit is \(maximumExtraLength)"
        }
        if bytes[0] == UInt8(ascii: "-") { return "it starts with '-' (it could be read as an option)" }
        for byte in bytes where !isAllowed(byte) {
            return "it contains \(ByteText.quoted([byte])); only A-Z a-z 0-9 _ . , : = @ + - are allowed"
        }
        return nil
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("_.,:=@+-".utf8).contains(byte)
        }
    }
}
