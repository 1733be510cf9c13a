import Vocabulary

/// `--connect block=SOCKET,net=SOCKET,exec=SOCKET` (any subset): helper services to
/// connect to instead of spawning (README "Deployment").
public enum ConnectSpec {
    /// `KIND=/abs/socket` pairs, each kind once; a socket path fits sockaddr_un (under 108 bytes).
    public static func parse(_ text: String?) throws(ConfigurationError) -> [HelperKind: String] {
        guard let text else { return [:] }
        var result: [HelperKind: String] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let eq = item.firstIndex(of: "="), let kind = HelperKind(rawValue: String(item[..<eq])),
                [.block, .net, .exec].contains(kind)
            else { throw ConfigurationError("--connect \(item)", "expected block=SOCKET, net=SOCKET or exec=SOCKET") }
            let path = String(item[item.index(after: eq)...])
            guard path.hasPrefix("/"), path.utf8.count < 108 else {
                throw ConfigurationError("--connect \(item)", "expected an absolute socket path (under 108 bytes)")
            }
            guard result[kind] == nil else { throw ConfigurationError("--connect \(kind.rawValue)", "given twice") }
            result[kind] = path
        }
        return result
    }
}
