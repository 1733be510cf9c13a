import Foundation
import Sandbox
import SystemdUnits
import Testing
import TestSupport

/// `bulkhead units`' files, checked by systemd's own tools (DESIGN.md §8).
@Suite struct UnitFileTests {
    static func generated(_ configure: (inout UnitOptions) -> Void = { _ in }) throws -> (ScratchDirectory, HelperUnits) {
        let scratch = try ScratchDirectory()
        var options = UnitOptions(helperDirectory: BuiltProducts.directory)
        options.files = ["ro:/var/lib/bulkhead/vmlinux", "rw:/var/lib/bulkhead/disk.img"]
        options.taps = ["bh-tap0"]
        options.hooks = ["up=/usr/bin/true"]
        configure(&options)
        let units = try HelperUnits(options)
        for file in units.files { _ = try scratch.write(file.name, file.text) }
        return (scratch, units)
    }

    /// `systemd-analyze` run in the directory holding the units (it loads them from there).
    static func analyze(_ arguments: [String], in directory: String) throws -> (status: Int32, output: String) {
        try runToEnd("/usr/bin/systemd-analyze", arguments, directory: directory)
    }

    /// The number on "Overall exposure level for NAME: 1.1 OK".
    static func exposure(_ helper: ServiceHelper, in directory: String, units: HelperUnits) throws -> Double {
        let name = units.options.unitName(helper) + ".service"
        let result = try analyze(["security", "--offline=true", "--no-pager", name], in: directory)
        let line = try #require(result.output.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let number = try #require(line.split(separator: ":").last?.split(separator: " ").first)
        return try #require(Double(number))
    }

    @Test func everyGeneratedUnitPassesSystemdAnalyzeVerify() throws {
        let (scratch, units) = try Self.generated()
        let names = units.files.map(\.name).filter { $0.hasSuffix(".socket") || $0.hasSuffix(".service") }
        #expect(names.count == 6)
        for name in names {
            let result = try Self.analyze(["verify", "--man=no", name], in: scratch.path)
            #expect(result.status == 0 && result.output.isEmpty, "\(name): \(result.output)")
        }
    }

    @Test func unitsForAnotherUserAndPrefixPassVerifyToo() throws {
        let (scratch, units) = try Self.generated { $0.prefix = "vm7"; $0.user = "bulkhead"; $0.files = [] }
        for name in units.files.map(\.name) where !name.hasSuffix(".conf") {
            let result = try Self.analyze(["verify", "--man=no", name], in: scratch.path)
            #expect(result.status == 0 && result.output.isEmpty, "\(name): \(result.output)")
        }
        #expect(units.serviceUnit(.block).contains("User=bulkhead\n"))
        #expect(units.socketUnit(.net).contains("ListenSequentialPacket=/run/bulkhead/vm7-net.sock\n"))
    }

    @Test func blockAndNetServicesScoreExposureAtMostTwo() throws {
        let (scratch, units) = try Self.generated()
        var scores: [String: Double] = [:]
        for helper in ServiceHelper.allCases { scores[helper.rawValue] = try Self.exposure(helper, in: scratch.path, units: units) }
        print("systemd-analyze security --offline=true exposure: \(scores.sorted { $0.key < $1.key })")
        #expect(try #require(scores["block"]) <= 2.0)
        #expect(try #require(scores["net"]) <= 2.0)
        #expect(try #require(scores["exec"]) <= 2.0)
    }

    @Test func serviceFilterCarriesTheRoleProfileLinesVerbatim() throws {
        let (_, units) = try Self.generated()
        for helper in ServiceHelper.allCases {
            let service = units.serviceUnit(helper)
            for line in ProfileDocument(role: helper.role).rendered(as: .systemd).split(separator: "\n")
            where line.hasPrefix("SystemCallFilter=") {
                #expect(service.contains(line + "\n"), "\(helper): \(line)")
            }
            #expect(service.contains("ExecStart=\(BuiltProducts.directory)/\(helper.program) --listen --config /etc/bulkhead/bulkhead-\(helper.rawValue).conf\n"))
        }
    }

    @Test func onlyTheNetServiceKeepsCapNetAdminAndTheHostNetwork() throws {
        let (_, units) = try Self.generated()
        let net = units.serviceUnit(.net)
        #expect(net.contains("CapabilityBoundingSet=CAP_NET_ADMIN\n") && net.contains("AmbientCapabilities=CAP_NET_ADMIN\n"))
        #expect(net.contains("DeviceAllow=/dev/net/tun rw\n") && !net.contains("PrivateNetwork=yes"))
        for helper in [ServiceHelper.block, .exec] {
            let service = units.serviceUnit(helper)
            #expect(service.contains("CapabilityBoundingSet=\n") && service.contains("PrivateNetwork=yes\n"))
        }
        #expect(!units.serviceUnit(.exec).contains("MemoryDenyWriteExecute=yes"))
        #expect(units.serviceUnit(.block).contains("ReadWritePaths=/var/lib/bulkhead/disk.img\n"))
    }

    @Test func declarationsGoIntoEachHelpersConfigFile() throws {
        let (_, units) = try Self.generated { $0.hookArguments = ["up=--quiet"] }
        #expect(units.configFile(.block).hasSuffix("file ro:/var/lib/bulkhead/vmlinux\nfile rw:/var/lib/bulkhead/disk.img\n"))
        #expect(units.configFile(.net).hasSuffix("tap bh-tap0\n"))
        #expect(units.configFile(.exec).hasSuffix("hook up=/usr/bin/true\nhook-arg up=--quiet\n"))
    }

    @Test func declarationsThatCannotGoOnAUnitOrConfigLineAreRefused() throws {
        for bad in ["ro:/var/lib/a b.img", "rw:relative.img", "ro:/var/../etc/shadow", "xx:/a", "ro:/home/me/disk.img", "ro:/a\nfile rw:/b"] {
            #expect(throws: UnitProblem.self, "\(bad)") { _ = try Self.generated { $0.files = [bad] } }
        }
        #expect(throws: UnitProblem.self) { _ = try Self.generated { $0.prefix = "../x" } }
        #expect(throws: UnitProblem.self) { _ = try Self.generated { $0.user = "nobody" } }
        #expect(throws: UnitProblem.self) { _ = try Self.generated { $0.taps = ["t\n"] } }
        let (_, units) = try Self.generated { $0.files = ["ro:/var/lib/100%.img"] }
        #expect(units.serviceUnit(.block).contains("ReadOnlyPaths=/var/lib/100%%.img\n"))
    }
}
