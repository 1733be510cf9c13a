import Synchronization

/// What a virtio device has done, for the control socket's `metrics`: requests served (for
/// net: frames sent and received), data bytes moved, requests that failed. Written by the
/// io thread with relaxed atomic adds (no syscall, no lock), read by the worker's control
/// thread; a reading taken while requests run is a consistent count of each, not a snapshot
/// of all.
public final class DeviceCounters: Sendable {
    public let requests = Atomic<UInt64>(0)
    public let bytes = Atomic<UInt64>(0)
    public let errors = Atomic<UInt64>(0)

    public init() {}

    func count(bytes moved: Int, failed: Bool = false) {
        requests.wrappingAdd(1, ordering: .relaxed)
        if moved > 0 { bytes.wrappingAdd(UInt64(moved), ordering: .relaxed) }
        if failed { errors.wrappingAdd(1, ordering: .relaxed) }
    }
}
