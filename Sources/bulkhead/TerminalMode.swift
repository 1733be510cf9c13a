import CParent
import Glibc
import SystemPackage

/// The run's terminal (stdin) while the console reads it: raw mode, and the mode it had
/// before, given back on every way out of `bulkhead run` by the terminal keeper
/// (bh_terminal_keeper), a child forked before raw mode is set that holds the old mode and
/// sets it again when its pipe from the parent ends. The parent ends it by closing that pipe
/// and waiting for the keeper (close and wait4, already in the sealed profile: the parent
/// needs no ioctl), and when the parent dies in any other way — exit 159, a crash, even
/// SIGKILL — the kernel closes the pipe and the keeper restores all the same.
struct TerminalMode {
    private let keeper: pid_t
    private let pipe: FileDescriptor

    /// Raw mode on fd 0 (bh_terminal_make_raw: output processing kept), or nil when it is
    /// not a terminal or the keeper cannot start (then the input is relayed unchanged, the
    /// terminal left as it is).
    static func enterRaw() -> TerminalMode? {
        var mode = bh_terminal_mode()
        guard bh_terminal_get(0, &mode) == 0 else { return nil }
        var pipe: Int32 = -1
        let keeper = bh_terminal_keeper(&mode, &pipe)
        guard keeper > 0 else { return nil }
        let started = TerminalMode(keeper: keeper, pipe: FileDescriptor(rawValue: pipe))
        bh_terminal_make_raw(&mode)
        guard bh_terminal_set(0, &mode) == 0 else {
            started.restore()
            return nil
        }
        return started
    }

    /// Ends the keeper, which sets the old mode, and waits until it has: the shell that
    /// runs next finds its terminal as it was.
    func restore() {
        try? pipe.close()
        var status: Int32 = 0
        while wait4(keeper, &status, 0, nil) < 0 && errno == EINTR {}
    }
}
