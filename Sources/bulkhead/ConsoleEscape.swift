/// The console's escape key on a terminal, as telnet's Ctrl-]: Ctrl-] then `q` quits (in
/// `bulkhead run` the VM is stopped as SIGTERM stops it, exit 143; in `bulkhead console` the
/// client detaches and the VM keeps running); Ctrl-] twice sends one Ctrl-] (0x1d) to the
/// guest; Ctrl-] then any other byte sends both. Input from a pipe or file is never filtered.
struct ConsoleEscape {
    static let key: UInt8 = 0x1D
    private var armed = false

    /// Appends what `byte` sends to the guest to `out`; true when it completes the quit sequence.
    mutating func filter(_ byte: UInt8, into out: inout [UInt8]) -> Bool {
        guard armed else {
            if byte == Self.key { armed = true } else { out.append(byte) }
            return false
        }
        armed = false
        switch byte {
        case UInt8(ascii: "q"), UInt8(ascii: "Q"): return true
        case Self.key: out.append(Self.key)
        default: out += [Self.key, byte]
        }
        return false
    }
}
