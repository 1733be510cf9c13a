import SystemPackage

/// /dev/net/tun fds opened while the net helper could still open the device, one per
/// declared tap, and what it opens later as: the helper's only capability after the uid
/// change is CAP_NET_ADMIN, which TUNSETIFF needs and open(2) does not use.
///
/// - Started as root (`bulkhead run`), the helper fills the pool before HelperDefense
///   changes its uid; /dev/net/tun may then be root-only (0600) and the helper still needs no
///   CAP_DAC_OVERRIDE. Each declared tap's fd serves that tap's first `DeclaredTaps.open`,
///   whatever its outcome (an fd TUNSETIFF refused is closed, not put back).
/// - Not root (a socket-activated service that never was), or a tap already served from the
///   pool (a second open in a spawned helper's one session, or a later session of a root
///   service): /dev/net/tun is opened at request time as `servingUID`; EACCES then gets a
///   reply that says whose access is missing and how to give it (TapRefusal.tunNotOpenToUser).
///   While the first fd is still attached, the kernel refuses a second attach anyway (EBUSY).
public struct TunDevicePool {
    /// The uid the helper serves requests as (after its uid change), for refusals.
    public let servingUID: UInt32
    private var preopened: [TapName: FileDescriptor]

    /// An empty pool: every open is made at request time.
    public init(servingUID: UInt32) {
        self.servingUID = servingUID
        preopened = [:]
    }

    /// Opens /dev/net/tun once per declared tap (openat O_RDWR|O_NONBLOCK|O_CLOEXEC). Call
    /// before the uid change; a failure closes what was opened and is a bad declaration.
    public init(opening taps: DeclaredTaps, servingUID: UInt32) throws(TapRefusal) {
        self.init(servingUID: servingUID)
        for name in taps.names {
            do { preopened[name] = try TapDevice.openTun(as: servingUID) } catch {
                for descriptor in preopened.values { try? descriptor.close() }
                throw error
            }
        }
    }

    /// How many fds are still waiting for their tap.
    public var count: Int { preopened.count }

    /// The tap's pre-opened fd (now the caller's), or a fresh one opened at request time.
    mutating func device(for name: TapName) throws(TapRefusal) -> FileDescriptor {
        if let descriptor = preopened.removeValue(forKey: name) { return descriptor }
        return try TapDevice.openTun(as: servingUID)
    }
}
