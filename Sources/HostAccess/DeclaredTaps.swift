import CHelper
import SystemPackage

/// The net helper's whole capability: the tap names the parent declared at start-up, and
/// `open`, which attaches a fresh /dev/net/tun fd to one of them.
///
/// The helper must never create an interface. TUNSETIFF without IFF_TUN_EXCL attaches to
/// an existing device but *creates* one if the name is free and the caller has
/// CAP_NET_ADMIN, so existence is checked twice:
/// - at declaration (before confinement): /sys/class/net/NAME/tun_flags must exist and
///   say IFF_TAP (not IFF_TUN); a missing, non-tun or tun-mode device is refused there;
/// - just before each attach (confined): `TapDevice.exists`, a probe that needs only the
///   openat flag set the net profile already allows for /dev/net/tun.
/// The window between probe and TUNSETIFF is microseconds and needs someone deleting the
/// tap on purpose; to close it entirely, run the helper without CAP_NET_ADMIN and create
/// the taps with `ip tuntap add … user <helper uid>`: the kernel then refuses to create.
public struct DeclaredTaps: Sendable {
    public static let maximumDeclarations = 32

    public let names: [TapName]

    public init(_ declarations: [String]) throws(TapRefusal) {
        if declarations.count > Self.maximumDeclarations {
            throw .tooManyDeclarations(count: declarations.count, limit: Self.maximumDeclarations)
        }
        var names: [TapName] = []
        for text in declarations {
            let name = try TapName(validating: text)
            if names.contains(name) { throw .declaredTwice(name: name) }
            guard let flags = try TapDevice.flags(of: name) else {
                // No tun_flags: either no such interface, or one that is not tun/tap.
                let directory = bh_open_at(bh_at_fdcwd(), "/sys/class/net/\(name.text)", Int32(BH_OPEN_IDENTIFY.rawValue))
                if directory < 0 { throw .doesNotExist(name: name) }
                try? FileDescriptor(rawValue: directory).close()
                throw .notTunTapDevice(name: name)
            }
            if flags & UInt32(bh_iff_tap()) == 0 || flags & UInt32(bh_iff_tun()) != 0 {
                throw .notTapMode(name: name, flags: flags)
            }
            names.append(name)
        }
        self.names = names
    }

    /// Attaches a declared tap and returns its fd (the caller's to close): the tap's fd from
    /// `pool` if it is still there, else /dev/net/tun opened now (TunDevicePool). The C calls
    /// are openat (the existence probe, and /dev/net/tun when the pool has no fd for the tap)
    /// and ioctl(TUNSETIFF).
    public func open(name bytes: [UInt8], pool: inout TunDevicePool) throws(TapRefusal) -> FileDescriptor {
        let name = try TapName(validating: bytes)
        guard names.contains(name) else { throw .notDeclared(name: name) }
        guard try TapDevice.exists(name) else { throw .doesNotExist(name: name) }
        return try TapDevice.attach(name, device: pool.device(for: name))
    }
}
