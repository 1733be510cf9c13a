import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import Testing

/// `bulkhead-net` through its socket, with real taps (`ip tuntap add`), always removed.
@Suite struct NetHelperTests {
    /// A tap (or tun) named `bhhlp<pid><suffix>` for the duration of `body`; removed even
    /// when `body` throws or an expectation fails.
    func withTap<T>(_ suffix: String, mode: String = "tap", _ body: (String) throws -> T) throws -> T {
        let name = "bhhlp\(getpid() % 100_000)\(suffix)"
        try? host(["ip", "link", "del", "dev", name])
        let made = try host(["ip", "tuntap", "add", "dev", name, "mode", mode])
        try #require(made.status == 0, "ip tuntap add \(name): \(made.output)")
        defer { try? host(["ip", "link", "del", "dev", name]) }
        #expect(try host(["ip", "link", "set", "dev", name, "up"]).status == 0)
        return try body(name)
    }

    /// /sys/class/net/NAME/carrier: 1 while a process holds the tap attached (and it is up).
    func carrier(_ name: String) -> String {
        ((try? String(contentsOfFile: "/sys/class/net/\(name)/carrier", encoding: .utf8)) ?? "?")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func declaredTapComesBackAsAnAttachedTunFd() throws {
        try withTap("a") { name in
            let helper = try RunningHelper("bulkhead-net", ["--tap", name])
            #expect(try helper.hello() == "bulkhead-net")
            #expect(carrier(name) == "0")
            let response = try helper.client!.call(NetOpenTapRequest(name: name))
            let fd = try #require(response.fds.first)
            #expect(response.reply.name == name)
            #expect(linkTarget(of: fd) == "/dev/net/tun")
            #expect(carrier(name) == "1", "the tap is attached to the fd we hold")
            try fd.close()
            _ = try helper.hello()  // the helper closed its copy after sendmsg; this orders it
            #expect(carrier(name) == "0", "neither we nor the helper hold the tap any longer")
        }
    }

    @Test func undeclaredOverlongAndMalformedTapNamesAreRefusedAndTheHelperKeepsServing() throws {
        try withTap("r") { name in
            try withTap("u") { undeclared in
                let helper = try RunningHelper("bulkhead-net", ["--tap", name])
                let cases: [(String, String)] = [
                    (undeclared, "not a declared tap"),
                    ("bhhlp-overlong-name", "19 bytes long; the limit is 15"),
                    ("tap%d", "byte 4 is not one of"),
                    ("../lo", "byte 3 is not one of"),
                    ("", "the name is empty"),
                    ("lo", "not a declared tap"),
                ]
                for (asked, reason) in cases {
                    do {
                        let response = try helper.client!.call(NetOpenTapRequest(name: asked))
                        response.fds.forEach { try? $0.close() }
                        Issue.record("\(asked): an fd was handed out")
                    } catch {
                        let message = try #require(refusal(error), "\(asked): \(error)")
                        #expect(message.contains(reason), "\(asked): \(message)")
                    }
                }
                #expect(carrier(undeclared) == "0", "the undeclared tap was never attached")
                let response = try helper.client!.call(NetOpenTapRequest(name: name))
                #expect(response.fds.count == 1)
                response.fds.forEach { try? $0.close() }
            }
        }
    }

    @Test func tapDeletedAfterStartUpIsRefusedAndNotCreated() throws {
        let name = try withTap("d") { name in
            let helper = try RunningHelper("bulkhead-net", ["--tap", name])
            #expect(try helper.hello() == "bulkhead-net")
            #expect(try host(["ip", "link", "del", "dev", name]).status == 0)
            #expect {
                _ = try helper.client!.call(NetOpenTapRequest(name: name))
            } throws: { error in
                refusal(error)?.contains("no tun/tap interface has this name") == true
            }
            return name
        }
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(name)"), "the helper created the tap")
    }

    @Test func badTapDeclarationsExit64NamingTheItem() throws {
        try withTap("t", mode: "tun") { tun in
            let cases: [([String], String)] = [
                (["--tap", tun], "refused tap \"\(tun)\": it is a tun-mode device"),
                (["--tap", "bhhlpabsent0"], "refused tap \"bhhlpabsent0\": no tun/tap interface has this name"),
                (["--tap", "lo"], "refused tap \"lo\": the interface exists but is not a tun/tap device"),
                (["--tap", "a/b"], "refused interface name \"a/b\""),
            ]
            for (arguments, named) in cases {
                let (ours, theirs) = try SeqPacketSocket.pair()
                defer { theirs.close() }
                let helper = try RunningHelper(
                    "bulkhead-net", ["--socket-fd", "3"] + arguments, fd3: theirs.fileDescriptor.rawValue, socket: ours)
                #expect(helper.exitStatus() == 64, "\(arguments)")
                #expect(helper.log.contains(named), "\(helper.log)")
            }
        }
    }
}
