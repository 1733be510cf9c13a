import Glibc
import ProcessDefense
import Sandbox

/// DESIGN.md §7 for a helper, applied after its declarations and before no-new-privileges and
/// its filter (Helper.run): resource limits, and — when `bulkhead run` started it as root and
/// named an identity (BULKHEAD_RUN_AS) — that unprivileged uid/gid with no supplementary
/// groups and only the one capability its job needs:
/// - net: CAP_NET_ADMIN (TUNSETIFF on a tap it does not own), and CAP_DAC_OVERRIDE too only
///   when /dev/net/tun is not open to everyone (its distribution default is 0666; some
///   hosts make it 0600 root, and the helper opens it per request as the unprivileged user);
/// - block: CAP_DAC_OVERRIDE, so the operator's disk files need no chown; what it opens is
///   limited by the declared set and the path checks (HostAccess), not by file modes;
/// - exec: none (hooks run as the unprivileged user).
/// The helpers stay in the host's namespaces: net must reach the host's taps, block opens
/// the declared paths as the operator wrote them (path checks alone: a bind-mounted view
/// would need a mount namespace per helper and change nothing the checks do not already
/// refuse — `..`, symlinks, /proc magic links, undeclared paths).
enum HelperDefense {
    static func capabilities(of role: Role) -> UInt64 {
        switch role {
        case .net:
            ProcessDefense.capNetAdmin
                | (ProcessDefense.isOpenToEveryone("/dev/net/tun") ? 0 : ProcessDefense.capDacOverride)
        case .block: ProcessDefense.capDacOverride
        default: 0
        }
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
