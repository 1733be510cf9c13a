/// Which helper (or the VM's control socket) serves a command (the protocol's catalog), or
/// is named on the command line (`--connect block=…`).
public enum HelperKind: String, CaseIterable, Sendable {
    case block
    case net
    case exec
    /// Served by the VM's control socket (`/run/bulkhead/NAME/control`), which the sealed
    /// parent serves; VM commands are forwarded to the worker's control thread.
    case control
    /// Served by every helper (the protocol's own commands).
    case any
}
