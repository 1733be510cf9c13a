import Foundation
import Glibc
import Testing
import TestSupport

@testable import HostAccess

/// The library under the real helper profiles: `bulkhead-hostaccess-probe` declares,
/// confines itself with the block, net or exec profile in trap mode, and serves one
/// request. A call outside the profile would end it with status 159 and a report.
extension HostAccessSuite {
    @Suite struct ConfinedHelpers {
        struct ProbeRun {
            let status: Int32
            let output: String
            let errors: String
        }

        /// Runs the probe; `between` runs after it has confined itself, before it serves.
        func probe(_ arguments: [String], between: () throws -> Void = {}) throws -> ProbeRun {
            let process = Process()
            process.executableURL = BuiltProducts.url("bulkhead-hostaccess-probe")
            process.arguments = arguments
            let input = Pipe(), output = Pipe(), errors = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("\n") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += chunk
            }
            if String(decoding: seen, as: UTF8.self).hasPrefix("confined") { try between() }
            try? input.fileHandleForWriting.write(contentsOf: Data("\n".utf8))
            try? input.fileHandleForWriting.close()
            seen += output.fileHandleForReading.readDataToEndOfFile()
            let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return ProbeRun(status: process.terminationStatus, output: String(decoding: seen, as: UTF8.self), errors: errorText)
        }

        @Test func blockProfileAllowsOpeningDeclaredFilesBothWays() throws {
            try withFixture { fixture in
                let disk = try fixture.file("disk.img", contents: "0123")
                for access in ["ro", "rw"] {
                    let run = try probe(["block", "rw", disk, disk, access])
                    #expect(run.status == 0, "\(run)")
                    #expect(run.output.contains("opened a regular file size=4"), "\(run)")
                }
            }
        }

        @Test func confinedBlockHelperRefusesFileSwappedAfterConfinement() throws {
            try withFixture { fixture in
                let disk = try fixture.file("disk.img")
                try fixture.file("other")
                let run = try probe(["block", "rw", disk, disk, "rw"]) { try fixture.rename("other", "disk.img") }
                #expect(run.status == 2, "\(run)")
                #expect(run.output.contains("no longer the declared file"), "\(run)")
            }
        }

        @Test func confinedBlockHelperRefusesTricksWithoutDying() throws {
            try withFixture { fixture in
                let disk = try fixture.file("disk.img")
                for (requested, access) in [(fixture.root + "/./disk.img", "ro"), (disk, "rw"), ("/proc/self/fd/0", "ro")] {
                    let run = try probe(["block", "ro", disk, requested, access])
                    #expect(run.status == 2, "\(run)")
                    #expect(run.output.contains("refused"), "\(run)")
                }
            }
        }

        /// Both ways the net helper gets its /dev/net/tun fd: opened at request time, or from
        /// the pool it fills before confining (TunDevicePool).
        @Test(arguments: [false, true]) func netProfileAllowsAttachingDeclaredTap(pooled: Bool) throws {
            let tap = pooled ? "bhconf2" : "bhconf0"
            try? host(["ip", "link", "del", "dev", tap])
            #expect(try host(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]).status == 0)
            defer { try? host(["ip", "link", "del", "dev", tap]) }
            let run = try probe(["net", tap, tap] + (pooled ? ["pooled"] : []))
            #expect(run.status == 0 && run.output.contains("attached \(tap)"), "\(run)")
        }

        @Test func confinedNetHelperRefusesTapDeletedAfterConfinementWithoutCreatingIt() throws {
            try? host(["ip", "link", "del", "dev", "bhconf1"])
            #expect(try host(["ip", "tuntap", "add", "dev", "bhconf1", "mode", "tap"]).status == 0)
            defer { try? host(["ip", "link", "del", "dev", "bhconf1"]) }
            let run = try probe(["net", "bhconf1", "bhconf1"]) { () throws -> Void in
                let deleted = try host(["ip", "link", "del", "dev", "bhconf1"])
                #expect(deleted.status == 0)
            }
            #expect(run.status == 2 && run.output.contains("never creates one"), "\(run)")
            #expect(try host(["ip", "link", "show", "dev", "bhconf1"]).status != 0)
        }

        @Test func execProfileAllowsRunningAHook() throws {
            let run = try probe(["exec", "/usr/bin/echo", "under", "the", "exec", "profile"])
            #expect(run.status == 0, "\(run)")
            #expect(run.output.contains(#"ran exited with status 0 output="under the exec profile\n""#), "\(run)")
        }

        @Test func hooksStayUnderTheExecHelpersFilter() throws {
            // Unconfined, root may create a user namespace; under the exec profile the hook
            // inherits the filter and unshare answers EPERM.
            let free = try DeclaredHooks([
                HookDeclaration(name: "ns", program: "/usr/bin/unshare", arguments: ["--user", "/usr/bin/true"])
            ]).run(name: "ns")
            #expect(free.termination == .exited(status: 0), "\(free)")
            let run = try probe(["exec", "/usr/bin/unshare", "--user", "/usr/bin/true"])
            #expect(run.status == 0 && run.output.contains("ran exited with status 1"), "\(run)")
            #expect(run.output.contains("Operation not permitted"), "\(run)")
        }

        @Test func confinedExecHelperKillsHangingHookAtTheLimit() throws {
            try withFixture { fixture in
                let hang = try fixture.file("hang", contents: "#!/bin/sh\nsleep 30 &\nsleep 30\n", mode: 0o755)
                let start = ContinuousClock.now
                let run = try probe(["exec", hang])
                #expect(run.status == 0 && run.output.contains("ran killed by signal 9"), "\(run)")
                #expect(ContinuousClock.now - start < .seconds(4))
            }
        }
    }
}
