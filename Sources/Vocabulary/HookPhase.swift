/// When in a VM's life `bulkhead run` asks the exec helper for a hook: the hook's declared
/// name is its phase (`--hook up=/prog`). `up` and `down` run once per tap with the tap's
/// name as their one extra argument (like QEMU's `script=`/`downscript=`); the others once
/// per VM. The exec helper itself serves any declared name; `bulkhead run` refuses others.
public enum HookPhase: String, CaseIterable, Sendable {
    /// Before the worker starts; a failure ends the start with nothing left.
    case prepare
    /// Per tap, once the worker reports its devices ready (the net helper attached the tap).
    case up
    /// Once the worker reports the guest ran its first instruction.
    case started
    /// Per tap, after the VM ended.
    case down
    /// After the worker and the other helpers were reaped; a failure is reported only.
    case stopped

    /// Whether the hook gets the tap's name as its last argument and in BULKHEAD_TAP.
    public var takesTap: Bool { self == .up || self == .down }

    /// What a hook of this name is handed: the tap for `up`/`down`, nothing else.
    public static func extraArgumentLimit(forHookNamed name: String) -> Int {
        HookPhase(rawValue: name)?.takesTap == true ? 1 : 0
    }
}
