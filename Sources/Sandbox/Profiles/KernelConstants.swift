/// Request numbers and flag values the profiles compare arguments against. They are the
/// kernel's UAPI values (linux/kvm.h, linux/if_tun.h, asm/mman.h, fcntl.h, sched.h);
/// `KernelConstantsTests` checks each against the C headers through the shim.
public enum KernelConstant {
    // ioctl requests: _IO/_IOR/_IOW(type, nr, size) from linux/kvm.h (type 0xAE).
    public static let kvmRun: UInt64 = 0xAE80  // _IO(KVMIO, 0x80)
    public static let kvmSetRegs: UInt64 = 0x4090_AE82  // _IOW(KVMIO, 0x82, struct kvm_regs)
    public static let kvmSetSregs: UInt64 = 0x4138_AE84  // _IOW(KVMIO, 0x84, struct kvm_sregs)
    /// Every KVM request carries the type byte 0xAE in bits 8–15.
    public static let ioctlTypeMask: UInt64 = 0xFF00
    public static let kvmIoctlType: UInt64 = 0xAE00

    // linux/if_tun.h (type 'T').
    public static let tunSetIff: UInt64 = 0x4004_54CA  // _IOW('T', 202, int)

    public static let protExec: UInt64 = 0x4
    public static let prSetName: UInt64 = 15
    public static let seccompSetModeFilter: UInt64 = 1
    public static let atEmptyPath: UInt64 = 0x1000

    // open flags (x86_64 values).
    public static let oRdwr: UInt64 = 0o2
    public static let oNoctty: UInt64 = 0o400
    public static let oNonblock: UInt64 = 0o4000
    public static let oNofollow: UInt64 = 0o400000
    public static let oCloexec: UInt64 = 0o2000000

    // sys/socket.h, asm-generic/socket.h (x86_64).
    public static let sockNonblock: UInt64 = 0o4000
    public static let sockCloexec: UInt64 = 0o2000000
    public static let solSocket: UInt64 = 1
    public static let soPeerCred: UInt64 = 17
    public static let soPeerGroups: UInt64 = 59
    /// The sealed parent's control-socket listening fd (bulkhead's ControlServer.listeningFD
    /// is this value): fixed so accept4 can be pinned to it.
    public static let controlListeningFD: Int32 = 64

    /// The flags glibc 2.36's pthread_create passes to clone: a thread, nothing else.
    /// CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID.
    public static let cloneThreadFlags: UInt64 = 0x3D_0F00
}
