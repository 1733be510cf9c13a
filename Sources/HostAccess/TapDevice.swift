import CHelper
import Glibc
import SystemPackage

/// The kernel side of a tap: reading its mode, checking it exists, attaching to it.
enum TapDevice {
    static let tunPath = "/dev/net/tun"

    /// The device's tun_flags (IFF_TUN, IFF_TAP, IFF_NO_PI, IFF_PERSIST…), read from
    /// /sys/class/net/NAME/tun_flags with openat(O_RDONLY|O_CLOEXEC) and read. Start-up
    /// only: the net profile allows no such open. nil if the interface has no tun_flags.
    static func flags(of name: TapName) throws(TapRefusal) -> UInt32? {
        let opened = open("/sys/class/net/\(name.text)/tun_flags", BH_OPEN_READ_PLAIN)
        if opened == -ENOENT { return nil }
        if opened < 0 { throw .flagsUnreadable(name: name, errno: Errno(rawValue: -opened)) }
        let descriptor = FileDescriptor(rawValue: opened)
        defer { try? descriptor.close() }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count: Int
        do {
            count = try buffer.withUnsafeMutableBytes { try descriptor.read(into: $0) }
        } catch {
            throw .flagsUnreadable(name: name, errno: error as? Errno ?? .ioError)
        }
        // The kernel prints "0x%x\n".
        var text = String(decoding: buffer.prefix(count), as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        guard text.hasPrefix("0x"), let value = UInt32(text.dropFirst(2), radix: 16) else {
            throw .flagsUnreadable(name: name, errno: .invalidArgument)
        }
        return value
    }

    /// Whether an interface named `name` exists, in a way that works under the net profile:
    /// openat(AT_FDCWD, "/sys/class/net/NAME/tun_flags", O_RDWR|O_NONBLOCK|O_CLOEXEC), the
    /// one open the profile allows. That attribute exists only for tun/tap devices and is
    /// read-only, so the open always fails: EACCES means the device exists, ENOENT that
    /// it does not. No fd results (one that somehow did is closed at once).
    static func exists(_ name: TapName) throws(TapRefusal) -> Bool {
        let opened = open("/sys/class/net/\(name.text)/tun_flags", BH_OPEN_TUN)
        switch opened {
        case -EACCES, -EPERM: return true
        case -ENOENT: return false
        case ..<0: throw .probeFailed(name: name, errno: Errno(rawValue: -opened))
        default:
            try? FileDescriptor(rawValue: opened).close()
            return true
        }
    }

    /// Opens /dev/net/tun with openat(O_RDWR|O_NONBLOCK|O_CLOEXEC). EACCES/EPERM name
    /// `uid`, the user the open ran as (the net profile allows no getuid to ask).
    static func openTun(as uid: UInt32) throws(TapRefusal) -> FileDescriptor {
        let opened = open(tunPath, BH_OPEN_TUN)
        if opened == -EACCES || opened == -EPERM { throw .tunNotOpenToUser(uid: uid, errno: Errno(rawValue: -opened)) }
        if opened < 0 { throw .tunOpenFailed(errno: Errno(rawValue: -opened)) }
        return FileDescriptor(rawValue: opened)
    }

    /// Attaches `descriptor` (an unattached /dev/net/tun fd, now owned here) to the
    /// existing tap `name` with ioctl(TUNSETIFF, IFF_TAP|IFF_NO_PI), without
    /// IFF_TUN_EXCL. The kernel itself refuses a tun-mode or non-tun device of that name
    /// (EINVAL); the name it writes back must be the one asked. On failure the fd is closed.
    static func attach(_ name: TapName, device descriptor: FileDescriptor) throws(TapRefusal) -> FileDescriptor {
        var attached = [CChar](repeating: 0, count: 16)
        let result = attached.withUnsafeMutableBufferPointer { out in
            bh_tun_attach_tap(descriptor.rawValue, name.text, out.baseAddress)
        }
        if result < 0 {
            try? descriptor.close()
            throw .attachFailed(name: name, errno: Errno(rawValue: -result))
        }
        let attachedName = attached.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        if attachedName != Array(name.text.utf8) {
            try? descriptor.close()
            throw .attachedOtherName(name: name, attached: attachedName)
        }
        return descriptor
    }

    private static func open(_ path: String, _ mode: bh_open_mode) -> Int32 {
        bh_open_at(bh_at_fdcwd(), path, Int32(mode.rawValue))
    }
}
