import Vocabulary

/// `--net tap=NAME[,mac=MAC]`: a valid interface name and, if given, a unicast non-zero MAC.
public struct NetSpec: Equatable, Sendable {
    public let tap: String
    public let mac: String?

    public init(parsing text: String) throws(ConfigurationError) {
        var tap: String?
        var mac: String?
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            if part.hasPrefix("tap="), tap == nil {
                tap = String(part.dropFirst(4))
            } else if part.hasPrefix("mac="), mac == nil {
                mac = String(part.dropFirst(4))
            } else {
                throw ConfigurationError("--net \(text)", "expected tap=NAME[,mac=MAC]")
            }
        }
        guard let tap else { throw ConfigurationError("--net \(text)", "names no tap (tap=NAME)") }
        guard Names.isValidTapName(tap) else {
            throw ConfigurationError("--net tap=\(tap)", "not a valid interface name (1-15 bytes of [A-Za-z0-9_.-])")
        }
        if let mac {
            guard let octets = Self.macOctets(mac) else {
                throw ConfigurationError("--net mac=\(mac)", "expected six hex octets like 52:54:00:12:34:56")
            }
            guard octets[0] & 1 == 0, octets != [0, 0, 0, 0, 0, 0] else {
                throw ConfigurationError("--net mac=\(mac)", "must be a unicast, non-zero address")
            }
        }
        self.tap = tap
        self.mac = mac
    }

    /// `xx:xx:xx:xx:xx:xx`, six two-digit hex octets.
    public static func macOctets(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            // Two hex digits: UInt8(_:radix:) alone would also take "+1" or "-0".
            guard part.count == 2, part.allSatisfy(\.isHexDigit), let value = UInt8(part, radix: 16) else { return nil }
            octets.append(value)
        }
        return octets
    }
}
