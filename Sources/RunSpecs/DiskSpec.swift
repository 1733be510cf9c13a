import Vocabulary

/// `--disk PATH[,readonly]`, split only: whether PATH exists is `RunConfiguration`'s check.
public struct DiskSpec: Equatable, Sendable {
    public let path: String
    public let readOnly: Bool

    public init(parsing text: String) throws(ConfigurationError) {
        var parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let path = parts.removeFirst()
        var readOnly = false
        for flag in parts {
            guard flag == "readonly", !readOnly else {
                throw ConfigurationError("--disk \(text)", "expected PATH[,readonly]")
            }
            readOnly = true
        }
        self.path = path
        self.readOnly = readOnly
    }
}
