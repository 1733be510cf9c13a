import CHelper
import Glibc
import SystemPackage
import Testing

@testable import HostAccess

extension DeclaredTaps {
    /// An open with /dev/net/tun opened at request time, as the test process (root).
    func open(name: String) throws(TapRefusal) -> FileDescriptor {
        var pool = TunDevicePool(servingUID: geteuid())
        return try open(name: Array(name.utf8), pool: &pool)
    }
}

/// Real taps, created with `ip tuntap add` and always removed.
extension HostAccessSuite {
    @Suite struct Taps {
        /// Creates the interfaces (name, mode) for `body` and deletes them afterwards.
        func withInterfaces(_ interfaces: [(String, String)], _ body: () throws -> Void) throws {
            defer {
                for (name, _) in interfaces { try? host(["ip", "link", "del", "dev", name]) }
            }
            for (name, mode) in interfaces {
                try? host(["ip", "link", "del", "dev", name])  // left over from a crashed run
                let made = try host(["ip", "tuntap", "add", "dev", name, "mode", mode])
                try #require(made.status == 0, "ip tuntap add \(name): \(made.output)")
            }
            try body()
        }

        func interfaceExists(_ name: String) throws -> Bool {
            try host(["ip", "link", "show", "dev", name]).status == 0
        }

        func attached(_ descriptor: FileDescriptor) -> (name: String, flags: Int32) {
            var name = [CChar](repeating: 0, count: 16)
            var flags: Int32 = 0
            #expect(bh_tun_attached(descriptor.rawValue, &name, &flags) == 0)
            return (String(cString: name), flags)
        }

        @Test func declaredTapOpensAttachedToThatTap() throws {
            try withInterfaces([("bhtest0", "tap")]) {
                let taps = try DeclaredTaps(["bhtest0"])
                let (_, leaked) = try descriptorsLeaked { () throws -> Void in
                    let descriptor = try taps.open(name: "bhtest0")
                    defer { try? descriptor.close() }
                    let (name, flags) = attached(descriptor)
                    #expect(name == "bhtest0")
                    #expect(flags & bh_iff_tap() != 0 && flags & bh_iff_no_pi() != 0)
                    #expect(flags & bh_iff_vnet_hdr() == 0)
                    // The fd carries frames: bring the link up and send one broadcast frame.
                    #expect(try host(["ip", "link", "set", "dev", "bhtest0", "up"]).status == 0)
                    var frame = [UInt8](repeating: 0xFF, count: 6) + [0x02, 0, 0, 0, 0, 1, 0x88, 0xB5]
                    frame += [UInt8](repeating: 0, count: 46)
                    #expect(write(descriptor.rawValue, &frame, frame.count) == frame.count)
                }
                #expect(leaked.isEmpty, "\(leaked)")
            }
        }

        @Test func undeclaredTapIsRefused() throws {
            try withInterfaces([("bhtest2", "tap"), ("bhtest3", "tap")]) {
                let taps = try DeclaredTaps(["bhtest2"])
                let refused = refusal(TapRefusal.self) { _ = try taps.open(name: "bhtest3") }
                #expect(refused == .notDeclared(name: try! TapName(validating: "bhtest3")))
            }
        }

        @Test func overlongTapNameIsRefused() throws {
            let taps = try DeclaredTaps([])
            let name = "bhtest-16-bytes!"
            let refused = refusal(TapRefusal.self) { _ = try taps.open(name: "bhtest0123456789") }
            guard case .invalidName(_, let reason)? = refused else {
                Issue.record("expected invalidName, got \(String(describing: refused))")
                return
            }
            #expect(reason.contains("IFNAMSIZ"))
            #expect(refusal(TapRefusal.self) { _ = try DeclaredTaps([name]) } != nil)
        }

        @Test func tapNamesWithSlashSpaceOrTemplateAreRefused() throws {
            let taps = try DeclaredTaps([])
            for name in ["../lo", "tap/0", "tap 0", " tap0", "tap0\n", "tap%d", "tap:0", ".", "..", "", "tap\u{0}0", "täp0"] {
                let declared = refusal(TapRefusal.self) { _ = try DeclaredTaps([name]) }
                let opened = refusal(TapRefusal.self) { _ = try taps.open(name: name) }
                for refused in [declared, opened] {
                    guard case .invalidName? = refused else {
                        Issue.record("\(name.debugDescription): expected invalidName, got \(String(describing: refused))")
                        continue
                    }
                }
            }
        }

        @Test func tunModeDeviceIsRefusedAtDeclaration() throws {
            try withInterfaces([("bhtest4", "tun")]) {
                let refused = refusal(TapRefusal.self) { _ = try DeclaredTaps(["bhtest4"]) }
                guard case .notTapMode? = refused else {
                    Issue.record("expected notTapMode, got \(String(describing: refused))")
                    return
                }
            }
        }

        @Test func tapReplacedByTunModeDeviceIsRefusedByTheKernel() throws {
            try withInterfaces([("bhtest5", "tap")]) {
                let taps = try DeclaredTaps(["bhtest5"])
                #expect(try host(["ip", "link", "del", "dev", "bhtest5"]).status == 0)
                #expect(try host(["ip", "tuntap", "add", "dev", "bhtest5", "mode", "tun"]).status == 0)
                let refused = refusal(TapRefusal.self) { _ = try taps.open(name: "bhtest5") }
                #expect(refused == .attachFailed(name: try! TapName(validating: "bhtest5"), errno: .invalidArgument))
                #expect(try host(["ip", "-d", "link", "show", "dev", "bhtest5"]).output.contains("tun type tun"))
            }
        }

        @Test func tapReplacedByNonTunDeviceIsRefusedBeforeAttaching() throws {
            try withInterfaces([("bhtest10", "tap")]) {
                let taps = try DeclaredTaps(["bhtest10"])
                #expect(try host(["ip", "link", "del", "dev", "bhtest10"]).status == 0)
                #expect(try host(["ip", "link", "add", "bhtest10", "type", "bridge"]).status == 0)
                let refused = refusal(TapRefusal.self) { _ = try taps.open(name: "bhtest10") }
                // A bridge has no tun_flags: the confined probe says no tap of that name exists.
                #expect(refused == .doesNotExist(name: try! TapName(validating: "bhtest10")))
                #expect(try host(["ip", "-d", "link", "show", "dev", "bhtest10"]).output.contains("bridge"))
            }
        }

        @Test func nonTunDeviceIsRefused() throws {
            let refused = refusal(TapRefusal.self) { _ = try DeclaredTaps(["lo"]) }
            #expect(refused == .notTunTapDevice(name: try! TapName(validating: "lo")))
        }

        @Test func nonexistentTapIsRefusedAndNotCreated() throws {
            try? host(["ip", "link", "del", "dev", "bhtest6"])
            let refused = refusal(TapRefusal.self) { _ = try DeclaredTaps(["bhtest6"]) }
            #expect(refused == .doesNotExist(name: try! TapName(validating: "bhtest6")))
            #expect(try !interfaceExists("bhtest6"))
        }

        @Test func tapDeletedAfterDeclarationIsRefusedAndNotRecreated() throws {
            try withInterfaces([("bhtest7", "tap")]) {
                let taps = try DeclaredTaps(["bhtest7"])
                #expect(try host(["ip", "link", "del", "dev", "bhtest7"]).status == 0)
                let refused = refusal(TapRefusal.self) { _ = try taps.open(name: "bhtest7") }
                #expect(refused == .doesNotExist(name: try! TapName(validating: "bhtest7")))
                #expect(try !interfaceExists("bhtest7"))
            }
        }

        @Test func tapAlreadyAttachedIsRefusedAsBusy() throws {
            try withInterfaces([("bhtest8", "tap")]) {
                let taps = try DeclaredTaps(["bhtest8"])
                let first = try taps.open(name: "bhtest8")
                defer { try? first.close() }
                let refused = refusal(TapRefusal.self) { _ = try taps.open(name: "bhtest8") }
                #expect(refused == .attachFailed(name: try! TapName(validating: "bhtest8"), errno: .resourceBusy))
            }
        }

        @Test func eachDeclaredTapGetsItsOwnPooledFdOnceThenRequestTimeOpens() throws {
            try withInterfaces([("bhtest11", "tap"), ("bhtest12", "tap")]) {
                let taps = try DeclaredTaps(["bhtest11", "bhtest12"])
                var pool = try TunDevicePool(opening: taps, servingUID: 4242)
                #expect(pool.count == 2)
                let first = try taps.open(name: Array("bhtest11".utf8), pool: &pool)
                defer { try? first.close() }
                #expect(attached(first).name == "bhtest11")
                #expect(pool.count == 1)
                // The second open of the same tap is made at request time (root here, so the
                // open works) and the kernel refuses the attach: the first fd still holds it.
                // The other tap's pooled fd is not spent on it.
                let refused = refusal(TapRefusal.self) {
                    _ = try taps.open(name: Array("bhtest11".utf8), pool: &pool)
                }
                #expect(refused == .attachFailed(name: try! TapName(validating: "bhtest11"), errno: .resourceBusy))
                #expect(pool.count == 1)
                let second = try taps.open(name: Array("bhtest12".utf8), pool: &pool)
                defer { try? second.close() }
                #expect(attached(second).name == "bhtest12")
                #expect(pool.count == 0)
            }
        }

        @Test func aPooledFdTheKernelRefusesIsSpent() throws {
            try withInterfaces([("bhtest13", "tap")]) {
                let taps = try DeclaredTaps(["bhtest13"])
                var pool = try TunDevicePool(opening: taps, servingUID: 4242)
                #expect(try host(["ip", "link", "del", "dev", "bhtest13"]).status == 0)
                #expect(try host(["ip", "tuntap", "add", "dev", "bhtest13", "mode", "tun"]).status == 0)
                let before = pool.count
                let refused = refusal(TapRefusal.self) {
                    _ = try taps.open(name: Array("bhtest13".utf8), pool: &pool)
                }
                #expect(refused == .attachFailed(name: try! TapName(validating: "bhtest13"), errno: .invalidArgument))
                #expect(before == 1 && pool.count == 0)
            }
        }

        @Test func tunRefusedToTheServingUserSaysWhoseAccessIsMissingAndTheFix() {
            let text = TapRefusal.tunNotOpenToUser(uid: 999, errno: .permissionDenied).description
            #expect(text.contains("/dev/net/tun") && text.contains("not open to uid 999"), "\(text)")
            #expect(text.contains("udev rule") && text.contains("DeviceAllow=") && text.contains("as root"), "\(text)")
        }

        @Test func tapDeclaredTwiceIsRefused() throws {
            try withInterfaces([("bhtest9", "tap")]) {
                let refused = refusal(TapRefusal.self) { _ = try DeclaredTaps(["bhtest9", "bhtest9"]) }
                #expect(refused == .declaredTwice(name: try! TapName(validating: "bhtest9")))
            }
        }
    }
}
