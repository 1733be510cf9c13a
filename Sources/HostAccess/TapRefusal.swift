import SystemPackage

/// Why the net helper refused to declare or attach a tap; `description` says it in words.
public enum TapRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(name: [UInt8], reason: String)
    case notDeclared(name: TapName)
    case declaredTwice(name: TapName)
    case tooManyDeclarations(count: Int, limit: Int)
    /// No tun/tap interface has this name (checked at declaration, and again before attaching).
    case doesNotExist(name: TapName)
    /// An interface has this name but it is not a tun/tap device (no tun_flags).
    case notTunTapDevice(name: TapName)
    /// A tun/tap device in tun (layer 3) mode, not a tap.
    case notTapMode(name: TapName, flags: UInt32)
    /// Reading /sys/class/net/NAME/tun_flags at declaration failed.
    case flagsUnreadable(name: TapName, errno: Errno)
    /// The confined existence probe got an answer other than "exists" or "absent".
    case probeFailed(name: TapName, errno: Errno)
    case tunOpenFailed(errno: Errno)
    /// /dev/net/tun refused the helper's user (EACCES or EPERM): no pre-opened fd was left.
    case tunNotOpenToUser(uid: UInt32, errno: Errno)
    /// TUNSETIFF refused: EINVAL (not a tap), EBUSY (already attached), EPERM (no right).
    case attachFailed(name: TapName, errno: Errno)
    /// The kernel attached a device with another name than the one asked.
    case attachedOtherName(name: TapName, attached: [UInt8])

    public var description: String {
        switch self {
        case .invalidName(let name, let reason):
            return "refused interface name \(ByteText.quoted(name)): \(reason)"
        case .notDeclared(let name): return "refused tap \(name): not a declared tap"
        case .declaredTwice(let name): return "refused declaration of tap \(name): declared twice"
        case .tooManyDeclarations(let count, let limit):
            return "refused declaration: \(count) taps, the limit is \(limit)"
        case .doesNotExist(let name):
            return "refused tap \(name): no tun/tap interface has this name (the net helper never creates one)"
        case .notTunTapDevice(let name):
            return "refused tap \(name): the interface exists but is not a tun/tap device"
        case .notTapMode(let name, let flags):
            return "refused tap \(name): it is a tun-mode device (tun_flags 0x\(String(flags, radix: 16))), not a tap"
        case .flagsUnreadable(let name, let errno):
            return "refused tap \(name): cannot read /sys/class/net/\(name.text)/tun_flags: \(errno)"
        case .probeFailed(let name, let errno):
            return "refused tap \(name): cannot tell whether it still exists: \(errno)"
        case .tunOpenFailed(let errno): return "cannot open /dev/net/tun: \(errno)"
        case .tunNotOpenToUser(let uid, let errno):
            return "cannot open /dev/net/tun: it is not open to uid \(uid) (\(errno)); give the helper's user access"
                + " (a udev rule for /dev/net/tun, and DeviceAllow=/dev/net/tun rw under systemd) or start the helper"
                + " as root, which opens one per declared tap, once, before it drops root"
        case .attachFailed(let name, let errno):
            let why: String
            switch errno {
            case .invalidArgument: why = "the interface is not a tap (tun mode or another kind of device)"
            case .resourceBusy: why = "the tap is already attached by another process"
            case .notPermitted: why = "not permitted (the tap's owner/group, or CAP_NET_ADMIN)"
            default: why = "\(errno)"
            }
            return "refused tap \(name): TUNSETIFF failed: \(why)"
        case .attachedOtherName(let name, let attached):
            return "refused tap \(name): the kernel attached \(ByteText.quoted(attached)) instead"
        }
    }
}
