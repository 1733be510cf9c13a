import Foundation
import Testing
import TestSupport

/// `bulkhead check` prints the launch plan and starts nothing; `bulkhead devices` lists
/// every device model, backend and helper command with its statement.
@Suite struct CheckAndDevicesTests {
    @Test func checkJSONListsThePlannedProcesses() throws {
        let disk = "/tmp/bulkhead-check-\(getpid()).img"
        try FixtureFile.write(disk, Data(count: 4096))
        defer { unlink(disk) }
        let run = try ParentRun.run([
            "check", "--format", "json", "--disk", "\(disk),readonly", "--net", "tap=bh-check0,mac=52:54:00:12:34:56",
            "--hook", "up=/usr/bin/true", "--hook-arg", "up=--version",
        ])
        #expect(run.status == 0, "\(run.errors)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let processes = try #require(json["processes"] as? [[String: Any]])
        #expect(processes.map { $0["name"] as? String } == ["block", "net", "exec", "worker"])
        #expect(processes.map { $0["profile"] as? String }.prefix(3) == ["block", "net", "exec"])
        for process in processes {
            let executable = try #require(process["executable"] as? String)
            #expect(FileManager.default.isExecutableFile(atPath: executable))
            #expect(process["resources"] is [String])
        }
        #expect((processes[0]["resources"] as? [String]) == ["file ro \(disk)"])
        #expect((processes[1]["resources"] as? [String])?.contains("tap bh-check0") == true)
        #expect((processes[2]["resources"] as? [String]) == ["hook up /usr/bin/true --version"])
        #expect(ParentRun.children(of: run.pid).isEmpty)
    }

    @Test func checkPlansOnlyTheWorkerWithoutDeclarations() throws {
        let run = try ParentRun.run(["check", "--format", "json"])
        #expect(run.status == 0, "\(run.errors)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let processes = try #require(json["processes"] as? [[String: Any]])
        #expect(processes.map { $0["name"] as? String } == ["worker"])
    }

    @Test func checkRefusesAMissingDisk() throws {
        let run = try ParentRun.run(["check", "--disk", "/no/such/disk.img"])
        #expect(run.status == 65)
        #expect(run.errors.contains("--disk /no/such/disk.img: does not exist"))
        #expect(run.output.isEmpty)
    }

    @Test func checkRefusesByPolicy() throws {
        let run = try ParentRun.run(["check", "--prohibit-insecure", "--device", "escape-probe"])
        #expect(run.status == 65)
        #expect(run.errors.contains("escape-probe"))
    }

    @Test func devicesShowsTheEscapeProbeAsInsecure() throws {
        let run = try ParentRun.run(["devices"])
        #expect(run.status == 0)
        let line = try #require(run.lines.first { $0.hasPrefix("device") && $0.contains("escape-probe") })
        #expect(line.contains("insecure"))
        for secure in ["serial-16550", "debug-exit", "virtio-blk", "virtio-net"] {
            #expect(run.lines.contains { $0.contains(" \(secure) ") && $0.contains(" secure ") }, "\(secure)")
        }
    }

    @Test func devicesJSONCarriesStatementsAndGroups() throws {
        let run = try ParentRun.run(["devices", "--format", "json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let entries = try #require(json["entries"] as? [[String: Any]])
        let probe = try #require(entries.first { $0["name"] as? String == "escape-probe" })
        #expect(probe["statement"] as? String == "insecure")
        let hook = try #require(entries.first { $0["name"] as? String == "exec.run-hook" })
        #expect(hook["statement"] is NSNull)
        #expect(hook["groups"] as? [String] == ["unrestricted"])
    }
}
