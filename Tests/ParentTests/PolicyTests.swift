import Foundation
import Testing

/// Validation and policy happen before anything starts: a refused run leaves no process
/// behind and names the item and the reason.
@Suite struct PolicyTests {
    static func refused(_ arguments: [String]) throws -> ParentRun {
        let run = try ParentRun.run(["run"] + arguments)
        #expect(run.status == 65, "\(run.errors)")
        #expect(run.output.isEmpty)
        #expect(run.survivors.isEmpty)
        return run
    }

    @Test func prohibitInsecureRefusesTheEscapeProbe() throws {
        let run = try Self.refused(["--prohibit-insecure", "--device", "escape-probe", "--cmdline", "sleep=3000"])
        #expect(run.errors.contains("device escape-probe"))
        #expect(run.errors.contains("declared insecure; refused by --prohibit-insecure"))
    }

    @Test func requireSecureRefusesTheEscapeProbe() throws {
        let run = try Self.refused(["--require-secure", "--device", "escape-probe"])
        #expect(run.errors.contains("device escape-probe"))
        #expect(run.errors.contains("refused by --require-secure"))
    }

    @Test(arguments: ["none", "log"])
    func prohibitInsecureRefusesUnfilteredModes(mode: String) throws {
        let run = try Self.refused(["--prohibit-insecure", "--seccomp", mode])
        #expect(run.errors.contains("seccomp-mode \(mode) (needed by --seccomp \(mode)) is declared insecure"))
    }

    @Test func requireSecureRefusesSeccompNone() throws {
        let run = try Self.refused(["--require-secure", "--seccomp", "none"])
        #expect(run.errors.contains("seccomp-mode none"))
    }

    @Test func requireSecureRefusesAHookWhichHasNoStatement() throws {
        let run = try Self.refused(["--require-secure", "--hook", "up=/usr/bin/true"])
        #expect(run.errors.contains("exec.run-hook (needed by --hook up) has no security statement"))
    }

    @Test func denyingUnrestrictedRefusesAHook() throws {
        let run = try Self.refused(["--deny-feature", "unrestricted", "--hook", "up=/usr/bin/true"])
        #expect(run.errors.contains("is in feature group unrestricted; refused by --deny-feature unrestricted"))
    }

    @Test func denyingUnrestrictedWithoutHooksStartsNoExecHelper() throws {
        let run = try ParentRun.run(["run", "--deny-feature", "unrestricted"])
        #expect(run.status == 0, "\(run.errors)")
        let plan = try ParentRun.run(["check", "--deny-feature", "unrestricted"])
        #expect(!plan.output.contains("bulkhead-exec"))
    }

    @Test func denyingTestOnlyRefusesTheEscapeProbe() throws {
        let run = try Self.refused(["--allow-insecure", "--deny-feature", "test-only", "--device", "escape-probe"])
        #expect(run.errors.contains("feature group test-only"))
    }

    @Test(arguments: [
        (["--memory", "1"], "--memory 1"), (["--memory", "lots"], "--memory lots"), (["--cpus", "0"], "--cpus 0"),
        (["--cpus", "33"], "--cpus 33"), (["--disk", "/no/such/disk.img"], "--disk /no/such/disk.img"),
        (["--disk", "relative.img"], "--disk relative.img"), (["--disk", "/etc/hostname,fast"], "--disk /etc/hostname,fast"),
        (["--disk", "/etc/hostname", "--disk", "/etc/hostname"], "declared twice"),
        (["--net", "tap=way-too-long-name0"], "tap=way-too-long-name0"), (["--net", "tap=a/b"], "tap=a/b"),
        (["--net", "tap=tap0,mac=zz:54:00:12:34:56"], "mac=zz:54:00:12:34:56"),
        (["--net", "tap=tap0,mac=01:00:00:00:00:01"], "mac=01:00:00:00:00:01"),
        (["--net", "tap=tap0", "--net", "tap=tap0"], "tap=tap0: declared twice"),
        (["--hook", "up=relative"], "--hook up relative"), (["--hook", "up"], "--hook up"),
        (["--hook-arg", "down=x"], "--hook-arg down=x"), (["--console", "relative.txt"], "--console relative.txt"),
        (["--seccomp", "maybe"], "--seccomp maybe"), (["--device", "gpu"], "--device gpu"),
        (["--initrd", "/etc/hostname"], "--initrd"), (["--deny-feature", "fun"], "--deny-feature fun"),
        (["--kernel", "/etc/hostname", "--cmdline", "banner"], "--cmdline"),
        (["--helpers", "/no/such/dir"], "--helpers /no/such/dir"),
    ])
    func badConfigurationIsRefusedNamingTheItem(arguments: [String], item: String) throws {
        let run = try Self.refused(arguments)
        #expect(run.errors.hasPrefix("bulkhead: "), "\(run.errors)")
        #expect(run.errors.contains(item), "\(run.errors)")
        #expect(run.errors.split(separator: "\n").count == 1, "\(run.errors)")
    }
}
