/// Bytes from a hostile peer rendered for an error message: printable ASCII as is,
/// everything else (and `"` and `\`) as `\xNN`, so a message never carries control
/// characters, invalid UTF-8 or a forged line break into a log.
enum ByteText {
    static func quoted<Bytes: Sequence<UInt8>>(_ bytes: Bytes, limit: Int = 200) -> String {
        var text = "\""
        var count = 0
        for byte in bytes {
            if count == limit {
                text += "…"
                break
            }
            count += 1
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text + "\""
    }
}
