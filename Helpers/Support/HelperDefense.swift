import Glibc
import ProcessDefense
import Sandbox

/// DESIGN.md §7 for a helper, applied after its declarations and before no-new-privileges and
/// its filter (Helper.run): resource limits, and — when `bulkhead run` started it as root and
/// named an identity (BULKHEAD_RUN_AS) — that unprivileged uid/gid with no supplementary
/// groups and only the capability its job needs (effective, permitted and bounding; the
/// inheritable and ambient sets empty):
/// - net: CAP_NET_ADMIN alone (TUNSETIFF on a tap it does not own). /dev/net/tun may be
///   root-only: its fds were opened during the declarations, as root (TunDevicePool);
/// - block: none. The declared files must be open to the helper's user by their owner, group
///   and mode bits, which the parent checks before anything starts (HelperUserAccess);
/// - exec: none (hooks run as the unprivileged user).
/// The helpers stay in the host's namespaces: net must reach the host's taps, block opens
/// the declared paths as the operator wrote them (path checks alone: a bind-mounted view
/// would need a mount namespace per helper and change nothing the checks do not already
/// refuse — `..`, symlinks, /proc magic links, undeclared paths).
public enum HelperDefense {
    static func capabilities(of role: Role) -> UInt64 {
        role == .net ? ProcessDefense.capNetAdmin : 0
    }

    /// The uid the helper will serve requests as: the identity `bulkhead run` named, else
    /// its own. For messages, asked during the declarations (the filters allow no getuid).
    public static func servingUID() -> UInt32 {
        ((try? ProcessDefense.requestedIdentity()) ?? nil)?.uid ?? geteuid()
    }

    /// The limits: no core dumps; at most 64 fds; block and net never start a process (NPROC 0
    /// fails every fork whatever else runs under the uid) and write no file (FSIZE 0, or the
    /// log cap when stderr is a regular file: the descriptors they hand over are written by
    /// the worker, not by them); exec keeps both for its hooks.
    static func limits(of role: Role) -> [(ProcessDefense.Limit, UInt64)] {
        var limits: [(ProcessDefense.Limit, UInt64)] = [(.core, 0), (.openFiles, 64)]
        if role != .exec { limits += [(.processes, 0), (.fileSize, ProcessDefense.fileSizeLimit(logFDs: [1, 2]))] }
        return limits
    }

    /// Returns a problem in words, or nil.
    static func apply(role: Role) -> String? {
        do {
            if let identity = try ProcessDefense.requestedIdentity() {
                try ProcessDefense.become(identity, keeping: capabilities(of: role))
            }
            for (limit, value) in limits(of: role) { try ProcessDefense.limit(limit, to: value) }
        } catch {
            return "\(error)"
        }
        return nil
    }
}
