import Glibc
import ProcessInspection

/// Whether a block device is in use by the host: mounted (itself or one of its partitions)
/// or held by another device (device-mapper, md, …). A guest writing it would write under
/// the host's own file system, so `bulkhead run` refuses it as a rw disk. Read from
/// /proc/self/mountinfo and /sys/dev/block only; the device is not opened.
enum HostBlockDevice {
    /// "mounted on /", "partition vda1 is mounted on /boot", "held by dm-0", or nil.
    static func use(of device: dev_t) -> String? {
        let number = "\(major(device)):\(minor(device))"
        let sysfs = "/sys/dev/block/\(number)"
        if let holder = VMRegistry.directoryNames(sysfs + "/holders").first { return "held by \(holder)" }
        var devices = [(number, "")]
        for name in VMRegistry.directoryNames(sysfs) where ProcFS.read("\(sysfs)/\(name)/partition") != nil {
            if let partition = ProcFS.read("\(sysfs)/\(name)/dev")?.split(separator: "\n").first {
                devices.append((String(partition), "partition \(name) "))
            }
        }
        // mountinfo: ID PARENT MAJOR:MINOR ROOT MOUNTPOINT …
        for line in (ProcFS.read("/proc/self/mountinfo") ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, let (_, what) = devices.first(where: { $0.0 == fields[2] }) else { continue }
            return "\(what)is mounted on \(fields[4])"
        }
        return nil
    }

    /// glibc's major()/minor() are macros: the bits of a dev_t (sys/sysmacros.h).
    static func major(_ device: dev_t) -> UInt64 { (UInt64(device) >> 8) & 0xfff | (UInt64(device) >> 32) & ~0xfff }
    static func minor(_ device: dev_t) -> UInt64 { UInt64(device) & 0xff | (UInt64(device) >> 12) & ~0xff }
}
