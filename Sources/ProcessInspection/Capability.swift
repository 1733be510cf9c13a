/// Linux capability numbers and names (linux/capability.h), for decoding CapEff/CapPrm/CapBnd.
public enum Capability {
    public static let names: [String] = [
        "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
        "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
        "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
        "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
        "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
        "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
    ]

    public static let netAdmin = 12
    public static let dacOverride = 1

    /// `cap_net_admin`-style names of the bits set in `mask`, lowest first; unknown bits as `cap_N`.
    public static func decode(_ mask: UInt64) -> [String] {
        (0..<64).filter { mask & (1 << UInt64($0)) != 0 }.map { bit in
            bit < names.count ? "cap_" + names[bit] : "cap_\(bit)"
        }
    }

    /// What `bulkhead status` prints for a set: `none`, `all (41)` for the full known set, or the names.
    public static func summary(_ mask: UInt64?) -> String {
        guard let mask else { return "?" }
        if mask == 0 { return "none" }
        let all: UInt64 = (1 << UInt64(names.count)) - 1
        if mask & all == all { return "all (\(decode(mask).count))" }
        return decode(mask).joined(separator: ",")
    }
}
