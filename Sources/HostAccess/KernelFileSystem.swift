import CHelper
import SystemPackage

/// File systems that are interfaces to the kernel rather than storage: a "disk" or "kernel"
/// there hands the guest kernel state — what any account may read (/proc/kallsyms,
/// /proc/PID/environ of a process running as the helper's user, /sys/firmware/…) or, run
/// with more rights, write (/sys/power/state, /proc/sys/kernel/core_pattern). The block
/// helper refuses to declare such a file (`DeclaredFiles`), and `bulkhead run` refuses it, and
/// a `--console` there, at validation, before anything starts.
public enum KernelFileSystem {
    /// statfs f_type values from linux/magic.h.
    static let names: [Int: String] = [
        0x9fa0: "proc", 0x6265_6572: "sysfs", 0x6462_6720: "debugfs", 0x7472_6163: "tracefs",
        0x7363_6673: "securityfs", 0x6367_7270: "cgroup2", 0x27e0eb: "cgroup", 0xcafe_4a11: "bpf",
        0x6265_6570: "configfs", 0xde5e_81e4: "efivarfs", 0x6165_676c: "pstore", 0x4249_4e4d: "binfmt_misc",
        0x6573_7546: "fusectl", 0xf97c_ff8c: "selinuxfs", 0x4341_5d53: "smackfs", 0x1cd1: "devpts",
        0x6e73_6673: "nsfs", 0x1988_0913: "mqueue",
    ]

    /// The kernel-interface file system `path` is on, or nil (storage, or statfs failed).
    /// The C call is `statfs`; it follows links, so callers refuse links first.
    public static func name(of path: String) -> String? {
        names[bh_statfs_type(path)]
    }

    /// The same for an open file (an O_PATH fd is enough). The C call is `fstatfs`.
    public static func name(of descriptor: FileDescriptor) -> String? {
        names[bh_fstatfs_type(descriptor.rawValue)]
    }
}
