import Foundation
import Glibc
import Testing
import TestSupport

/// `bulkhead run --connect block=SOCKET`: a VM served by a socket-activated block service
/// instead of a block helper of its own (README "Deployment").
@Suite(.serialized) struct ConnectTests {
    @Test func runConnectedToAnActivatedBlockServiceBootsTheTestGuestWithItsDisk() throws {
        let scratch = try ScratchDirectory()
        let disk = scratch.path + "/disk.img"
        try FixtureFile.write(disk, Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        let sha = try runToEnd("/usr/bin/sha256sum", [disk]).output.prefix(64)
        let config = try scratch.write("block.conf", "file ro:\(disk)\n")
        let service = try ActivatedHelper(
            program: "bulkhead-block", socketPath: scratch.path + "/block.sock", arguments: ["--listen", "--config", config])

        for _ in 0..<2 {  // two VMs, one after the other, through the same service
            let run = try runToEnd(
                BuiltProducts.path("bulkhead"),
                ["run", "--connect", "block=\(service.socketPath)", "--disk", "\(disk),readonly", "--cmdline", "blk-sha256=0 poweroff"])
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("blk 0 sha256 \(sha)"), "\(run.output)")
        }
        #expect(service.stop() == 0)
    }

    @Test func aDiskTheServiceDoesNotDeclareIsRefusedAndTheRunFails() throws {
        let scratch = try ScratchDirectory()
        let declared = try scratch.write("declared.img", String(repeating: "d", count: 4096))
        let other = try scratch.write("other.img", String(repeating: "o", count: 4096))
        let config = try scratch.write("block.conf", "file ro:\(declared)\n")
        let service = try ActivatedHelper(
            program: "bulkhead-block", socketPath: scratch.path + "/block.sock", arguments: ["--listen", "--config", config])
        let run = try runToEnd(
            BuiltProducts.path("bulkhead"),
            ["run", "--connect", "block=\(service.socketPath)", "--disk", "\(other),readonly", "--cmdline", "blk-sha256=0 poweroff"])
        #expect(run.status != 0 && run.output.contains("not a declared path"), "\(run.output)")
        #expect(service.stop() == 0)
    }

    @Test func connectNamesOnlyHelperKindsWithAbsoluteSockets() throws {
        for bad in ["worker=/run/x.sock", "block=relative.sock", "block=/a,block=/b", "block"] {
            let run = try runToEnd(BuiltProducts.path("bulkhead"), ["check", "--connect", bad])
            #expect(run.status == 65 && run.output.contains("--connect"), "\(bad): \(run.output)")
        }
    }
}
