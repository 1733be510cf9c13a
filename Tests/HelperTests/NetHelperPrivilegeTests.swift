import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import Testing
import TestSupport

/// `bulkhead-net` as `bulkhead run` starts it as root (BULKHEAD_RUN_AS) and as a service that
/// never was root: CAP_NET_ADMIN and nothing else, /dev/net/tun fds opened while it was root
/// (HostAccess.TunDevicePool), and a refusal that says why when it has none left.
extension NetHelperTests {
    /// Whether the helper account may open /dev/net/tun read-write by its owner/group/mode.
    static func tunOpenToHelperAccount(_ account: (uid: uid_t, gid: gid_t)) -> Bool {
        var info = stat()
        guard stat("/dev/net/tun", &info) == 0 else { return false }
        let shift: mode_t = info.st_uid == account.uid ? 6 : info.st_gid == account.gid ? 3 : 0
        return (info.st_mode >> shift) & 0o6 == 0o6
    }

    /// The refusal a second open of `name` must get while the first fd is attached.
    static func secondOpenReason(_ account: (uid: uid_t, gid: gid_t)) -> String {
        tunOpenToHelperAccount(account)
            ? "the tap is already attached by another process"  // request-time open worked; TUNSETIFF said EBUSY
            : "cannot open /dev/net/tun: it is not open to uid \(account.uid)"
    }

    @Test func startedAsRootItKeepsOnlyCapNetAdminAttachesFromItsPoolAndExplainsASecondOpen() throws {
        try #require(geteuid() == 0, "needs root: the helper changes its uid only when started as root")
        let account = try #require(HelperUserFiles.account, "no \(HelperUserFiles.user) account (make deps creates it)")
        try withTap("p") { name in
            let helper = try RunningHelper(
                "bulkhead-net", ["--tap", name], environment: ["BULKHEAD_RUN_AS=\(account.uid):\(account.gid)"])
            #expect(try helper.hello() == "bulkhead-net")
            let status = try helper.procStatus()
            #expect(status["Uid"] == Array(repeating: "\(account.uid)", count: 4).joined(separator: "\t"))
            #expect(status["Groups"] == "", "supplementary groups: \(status["Groups"] ?? "?")")
            #expect(status["CapEff"] == "0000000000001000" && status["CapPrm"] == "0000000000001000", "\(status)")
            #expect(status["CapBnd"] == "0000000000001000" && status["CapInh"] == "0000000000000000", "\(status)")
            #expect(status["CapAmb"] == "0000000000000000" && status["NoNewPrivs"] == "1", "\(status)")
            // The one pooled fd (opened as root, before the uid change) serves the first open.
            let first = try helper.client!.call(NetOpenTapRequest(name: name))
            let fd = try #require(first.fds.first)
            defer { try? fd.close() }
            #expect(carrier(name) == "1")
            // The second open of the same tap is made at request time, as the helper's user.
            do {
                let again = try helper.client!.call(NetOpenTapRequest(name: name))
                again.fds.forEach { try? $0.close() }
                Issue.record("a second fd was handed out for \(name)")
            } catch {
                let message = try #require(refusal(error), "\(error)")
                #expect(message.contains(Self.secondOpenReason(account)), "\(message)")
            }
            _ = try helper.hello()  // still serving
        }
    }

    /// A socket-activated service runs as its own user from the start: no pool, every open at
    /// request time. setpriv stands in for systemd's User= and AmbientCapabilities=.
    @Test func aHelperThatNeverRanAsRootSaysWhyTunRefusesItsUser() throws {
        try #require(geteuid() == 0, "needs root to start the helper as another user")
        let account = try #require(HelperUserFiles.account, "no \(HelperUserFiles.user) account (make deps creates it)")
        try withTap("s") { name in
            let (ours, theirs) = try SeqPacketSocket.pair()
            defer { theirs.close() }
            let helper = try RunningHelper(
                "/usr/bin/setpriv",
                [
                    "--reuid", "\(account.uid)", "--regid", "\(account.gid)", "--clear-groups", "--inh-caps", "-all,+net_admin",
                    "--ambient-caps", "-all,+net_admin", "--bounding-set", "-all,+net_admin", BuiltProducts.path("bulkhead-net"),
                    "--socket-fd", "3", "--tap", name,
                ], fd3: theirs.fileDescriptor.rawValue, socket: ours)
            try ours.setReceiveTimeout(microseconds: 20_000_000)
            #expect(try helper.hello() == "bulkhead-net")
            #expect(try helper.procStatus()["CapEff"] == "0000000000001000")
            do {
                let response = try helper.client!.call(NetOpenTapRequest(name: name))
                response.fds.forEach { try? $0.close() }
                #expect(Self.tunOpenToHelperAccount(account), "an fd was handed out though /dev/net/tun is not open to uid \(account.uid)")
            } catch {
                let message = try #require(refusal(error), "\(error)")
                #expect(!Self.tunOpenToHelperAccount(account), "\(message)")
                #expect(message.contains("not open to uid \(account.uid)") && message.contains("udev rule"), "\(message)")
            }
        }
    }
}
