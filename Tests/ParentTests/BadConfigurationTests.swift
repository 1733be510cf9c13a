import Foundation
import Glibc
import Testing

/// Bad configuration, row by row (issue 9): each row is what an operator might type, the
/// exit status README "Running a VM" documents for it, and a fragment of the message that
/// names the bad item. Every row also proves that nothing was started, opened for writing or
/// left behind (BadConfigurationFixture): no spied worker or helper was ever spawned, no
/// process carries the run's BULKHEAD_RUN marker, no file the row names was opened (or, for
/// the few rows only the worker can judge, written, created or removed), nothing registered
/// under the runtime directory or /run/bulkhead, no tap of the row's name exists.
///
/// A `run` or `check` row also declares canaries beside its bad item (a rw disk, a tap, a
/// console file, a VM name, the spy helpers), which a run that went ahead would touch.
@Suite struct BadConfigurationTests {
    /// Where a row is refused: by validation (exit 64 or 65, nothing spawned), or only once
    /// the worker reads what it was handed (a file that is not a kernel, a guest step the
    /// test guest does not know); those rows check that the worker did start, then that it
    /// left nothing behind.
    enum Stage: Sendable { case validation, worker }

    /// The declarations a `run`/`check` row gets beside its own; a row leaves out the ones its
    /// bad item is about.
    enum Canary: Sendable { case name, helpers, disk, net, console }

    struct Row: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        let status: Int32
        let message: String
        let stage: Stage

        var testDescription: String { arguments.joined(separator: " ") }

        /// `bulkhead run CANARIES ARGUMENTS`.
        static func run(
            _ arguments: [String], _ status: Int32, _ message: String, without: Set<Canary> = [], stage: Stage = .validation
        ) -> Row {
            Row(arguments: ["run"] + canaries(without, stage) + arguments, status: status, message: message, stage: stage)
        }

        /// `bulkhead check CANARIES ARGUMENTS`.
        static func check(_ arguments: [String], _ status: Int32, _ message: String, without: Set<Canary> = []) -> Row {
            Row(arguments: ["check"] + canaries(without, .validation) + arguments, status: status, message: message, stage: .validation)
        }

        /// Any other command, as typed.
        static func command(_ arguments: [String], _ status: Int32, _ message: String) -> Row {
            Row(arguments: arguments, status: status, message: message, stage: .validation)
        }

        /// A row refused by the worker gets only a read-only disk (its helpers really start) and
        /// a worker uid of its own.
        static func canaries(_ without: Set<Canary>, _ stage: Stage) -> [String] {
            var arguments: [String] = []
            if !without.contains(.name) { arguments += ["--name", "$NAME"] }
            if !without.contains(.helpers) { arguments += ["--helpers", "$SPY"] }
            if !without.contains(.disk) { arguments += ["--disk", stage == .validation ? "$F/canary.img" : "$F/canary.img,readonly"] }
            guard stage == .validation else { return arguments + ["--uid-range", "$UIDS"] }
            if !without.contains(.net) { arguments += ["--net", "tap=$TAP"] }
            if !without.contains(.console) { arguments += ["--console", "$F/console.log"] }
            return arguments
        }
    }

    static let usage: Int32 = 64
    static let configuration: Int32 = 65
    static let workerFailure: Int32 = 70
    static let guestFailure: Int32 = 1
    static let cannotCreate: Int32 = 73
    static let longPath = "/" + String(repeating: "a/", count: 2100) + "disk.img"

    static let rows: [Row] = [
        // Syntax: unknown flags, missing values, stray arguments (exit 64, the parser's message).
        .run(["--bogus"], usage, "Unknown option '--bogus'"),
        .run(["--memroy", "64"], usage, "Unknown option '--memroy'"),
        .run(["--memory"], usage, "Missing value for '--memory"),
        .run(["--disk"], usage, "Missing value for '--disk"),
        .run(["stray"], usage, "Unexpected argument 'stray'"),
        .run(["--prohibit-insecure=yes"], usage, "'--prohibit-insecure' does not take any value"),
        .run(["--format", "json"], usage, "Unknown option '--format'"),
        .check(["--format", "xml"], usage, "'xml' is invalid for '--format"),
        .command(["bogus"], usage, "Unexpected argument 'bogus'"),
        .command(["devices", "--format", "yaml"], usage, "'yaml' is invalid for '--format"),
        .command(["profiles", "vcpu", "--format", "bpf"], usage, "'bpf' is invalid for '--format"),
        .command(["profiles", "nosuchrole"], usage, "unknown role 'nosuchrole'"),
        .command(["status", "--format", "xml"], usage, "--format: expected text or json"),
        .command(["units"], usage, "Missing expected argument '--out"),

        // Numbers out of range or malformed (exit 65 from here on, unless said otherwise).
        .run(["--memory", "3"], configuration, "--memory 3: expected a number in 4...3072"),
        .run(["--memory", "3073"], configuration, "--memory 3073: expected a number in 4...3072"),
        .run(["--memory", "64k"], configuration, "--memory 64k: expected a number"),
        .run(["--memory", "0x40"], configuration, "--memory 0x40: expected a number"),
        // A negative number reads as an option: the parser says the value is missing (64).
        .run(["--memory", "-64"], usage, "Missing value for '--memory"),
        .run(["--memory", "99999999999999999999"], configuration, "--memory 99999999999999999999: expected a number"),
        .check(["--memory", "1"], configuration, "--memory 1: expected a number"),
        .run(["--cpus", "0"], configuration, "--cpus 0: expected a number in 1...32"),
        .run(["--cpus", "33"], configuration, "--cpus 33: expected a number in 1...32"),
        .run(["--cpus", "-1"], usage, "Missing value for '--cpus"),
        .run(["--cpus", "1.5"], configuration, "--cpus 1.5: expected a number"),
        .run(["--hook", "up=/usr/bin/true", "--hook-timeout-ms", "0"], configuration, "--hook-timeout-ms 0: expected a number in 1...600000"),
        .run(["--hook", "up=/usr/bin/true", "--hook-timeout-ms", "600001"], configuration, "--hook-timeout-ms 600001"),
        .run(["--hook-timeout-ms", "100"], configuration, "--hook-timeout-ms: no hook is declared"),
        .run(["--uid-range", "999-2000"], configuration, "--uid-range 999-2000: expected FIRST-LAST with 1000 <= FIRST <= LAST"),
        .run(["--uid-range", "300000-200000"], configuration, "--uid-range 300000-200000"),
        .run(["--uid-range", "1000-4294967295"], configuration, "--uid-range 1000-4294967295"),
        .run(["--uid-range", "lots"], configuration, "--uid-range lots"),
        .run(["--memory-limit", "12Q"], configuration, "--memory-limit 12Q: expected a size such as 256M"),
        .run(["--memory-limit", "1K"], configuration, "--memory-limit 1K: must be between 4M and 1P"),
        .run(["--memory-limit", "-5"], usage, "Missing value for '--memory-limit"),
        .run(["--memory-limit", "32M"], configuration, "--memory-limit 32M: below the guest memory"),
        .run(["--pids-limit", "0"], configuration, "--pids-limit 0: expected a whole number from 1 to 4194304"),
        .run(["--pids-limit", "-1"], usage, "Missing value for '--pids-limit"),
        .run(["--pids-limit", "lots"], configuration, "--pids-limit lots: expected a whole number"),
        .run(["--pids-limit", "2"], configuration, "--pids-limit 2: the worker's 5 tasks"),
        .run(["--user", "no-such-user-bulkhead"], configuration, "--user no-such-user-bulkhead: no such user"),
        .run(["--user", "root"], configuration, "--user root: is root"),

        // Policy: modes, devices and groups refused, and flags that contradict each other.
        .run(["--seccomp", "maybe"], configuration, "--seccomp maybe: expected kill, trap, log or none"),
        .run(["--prohibit-insecure", "--seccomp", "none"], configuration, "seccomp-mode none (needed by --seccomp none) is declared insecure"),
        .run(["--require-secure", "--prohibit-insecure", "--seccomp", "log"], configuration, "seccomp-mode log"),
        .run(["--require-secure", "--device", "escape-probe"], configuration, "refused by --require-secure", without: [.disk, .net]),
        .run(["--allow-insecure", "--deny-feature", "test-only", "--device", "escape-probe"], configuration, "refused by --deny-feature test-only", without: [.disk, .net]),
        // Secure by default: what is declared insecure needs --allow-insecure, in run and check alike.
        .run(["--device", "escape-probe"], configuration, "device escape-probe (needed by --device escape-probe) is declared insecure; refused without --allow-insecure", without: [.disk, .net]),
        .check(["--device", "escape-probe"], configuration, "device escape-probe (needed by --device escape-probe) is declared insecure; refused without --allow-insecure", without: [.disk, .net]),
        .run(["--seccomp", "log"], configuration, "seccomp-mode log (needed by --seccomp log) is declared insecure; refused without --allow-insecure"),
        .run(["--seccomp", "none"], configuration, "seccomp-mode none (needed by --seccomp none) is declared insecure; refused without --allow-insecure"),
        .check(["--seccomp", "none"], configuration, "seccomp-mode none (needed by --seccomp none) is declared insecure; refused without --allow-insecure"),
        .run(["--allow-insecure", "--prohibit-insecure", "--seccomp", "log"], configuration, "seccomp-mode log (needed by --seccomp log) is declared insecure; refused by --prohibit-insecure"),
        .run(["--deny-feature", "unrestricted", "--hook", "up=/usr/bin/true"], configuration, "refused by --deny-feature unrestricted"),
        .run(["--deny-feature", "fun"], configuration, "--deny-feature fun: unknown feature group"),
        .run(["--device", "escape-probe"], configuration, "--disk $F/canary.img: --device escape-probe excludes virtio devices"),
        .run(["--device", "escape-probe", "--device", "escape-probe"], configuration, "--device escape-probe: given twice", without: [.disk, .net]),
        .run(["--device", "gpu"], configuration, "--device gpu: unknown"),
        .run(["--hide-cpuid", "warp-drive"], configuration, "--hide-cpuid warp-drive: unknown feature"),

        // Disks: missing, relative, not a file, a link, not writable, on a kernel interface, twice.
        .run(["--disk", "$F/missing.img"], configuration, "--disk $F/missing.img: does not exist"),
        .run(["--disk", "relative.img"], configuration, "--disk relative.img: not an absolute path"),
        .run(["--disk", "$F/dir"], configuration, "--disk $F/dir: not a regular file or block device"),
        .run(["--disk", "$F/fifo"], configuration, "--disk $F/fifo: not a regular file or block device"),
        .run(["--disk", "/dev/null"], configuration, "--disk /dev/null: not a regular file or block device"),
        .run(["--disk", "$F/link.img"], configuration, "--disk $F/link.img: $F/link.img is a symbolic link"),
        .run(["--disk", "$F/dir/../other.img"], configuration, "--disk $F/dir/../other.img: has a . or .. component"),
        .run(["--disk", "$F/immutable.img"], configuration, "--disk $F/immutable.img: cannot be read and written"),
        .run(["--disk", "/proc/1/environ,readonly"], configuration, "--disk /proc/1/environ: is on proc, a kernel interface"),
        .run(["--disk", "/sys/power/state,readonly"], configuration, "--disk /sys/power/state: is on sysfs, a kernel interface"),
        .run(["--disk", longPath], configuration, "not a valid path"),
        // The host's own root file system's device, read-write: the guest would write under it.
        .run(["--disk", "$ROOTDEV"], configuration, "--disk $ROOTDEV: is mounted on / on the host"),
        .run(["--disk", "$F/other.img,fast"], configuration, "--disk $F/other.img,fast: expected PATH[,readonly]"),
        .run(["--disk", "$F/other.img,readonly,readonly"], configuration, "expected PATH[,readonly]"),
        .run(["--disk", "$F/other.img", "--disk", "$F/other.img,readonly"], configuration, "--disk $F/other.img: declared twice"),

        // Kernels and initrds: the parent refuses what stat(2) shows; only the worker reads them.
        .run(["--kernel", "$F/empty"], configuration, "--kernel $F/empty: is empty, not a kernel"),
        .run(["--kernel", "$F/dir"], configuration, "--kernel $F/dir: not a regular file"),
        .run(["--kernel", "vmlinux"], configuration, "--kernel vmlinux: not an absolute path"),
        .run(["--kernel", "$F/random.bin", "--memory", "16"], configuration, "--memory 16: a Linux guest needs at least 32 MiB"),
        .run(["--kernel", "$F/random.bin", "--initrd", "$F/empty"], configuration, "--initrd $F/empty: is empty"),
        .run(["--kernel", "$F/random.bin", "--initrd", "$F/missing.cpio"], configuration, "--initrd $F/missing.cpio: does not exist"),
        .run(["--kernel", "$F/random.bin", "--disk", "$F/random.bin"], configuration, "--disk $F/random.bin: declared twice"),
        .run(["--kernel", "$F/random.bin", "--cmdline", "banner"], configuration, "--cmdline: is for the test guest"),
        .run(["--kernel", "$F/random.bin", "--append", String(repeating: "x", count: 2048)], configuration, "--append: at most 2047 bytes"),
        .run(["--initrd", "$F/other.img"], configuration, "--initrd: needs --kernel"),
        .run(["--append", "console=ttyS0"], configuration, "--append: needs --kernel"),
        .run(["--kernel", "$F/random.bin"], workerFailure, "not a Linux kernel image: no ELF magic and no bzImage setup header", stage: .worker),
        .run(["--kernel", "$F/program"], workerFailure, "not a Linux kernel image: ELF type 3 is not an executable", stage: .worker),
        .run(["--kernel", "$F/truncated-elf"], workerFailure, "truncated kernel image: program headers at 64 run past the end", stage: .worker),

        // Taps and MACs.
        .run(["--net", "tap=averyverylongtap0"], configuration, "--net tap=averyverylongtap0: not a valid interface name"),
        .run(["--net", "tap=a/b"], configuration, "--net tap=a/b: not a valid interface name"),
        .run(["--net", "tap=tap%d"], configuration, "--net tap=tap%d: not a valid interface name"),
        .run(["--net", "tap="], configuration, "--net tap=: not a valid interface name"),
        .run(["--net", "mac=52:54:00:12:34:56"], configuration, "--net mac=52:54:00:12:34:56: names no tap"),
        .run(["--net", "tap=bcfx,speed=10"], configuration, "--net tap=bcfx,speed=10: expected tap=NAME[,mac=MAC]"),
        .run(["--net", "tap=bcfx,mac=zz:54:00:12:34:56"], configuration, "--net mac=zz:54:00:12:34:56: expected six hex octets"),
        .run(["--net", "tap=bcfx,mac=01:00:5e:00:00:01"], configuration, "--net mac=01:00:5e:00:00:01: must be a unicast, non-zero address"),
        .run(["--net", "tap=bcfx,mac=00:00:00:00:00:00"], configuration, "must be a unicast, non-zero address"),
        .run(["--net", "tap=$TAP"], configuration, "--net tap=$TAP: declared twice"),
        .run(
            ["--net", "tap=bcfx,mac=52:54:00:12:34:56", "--net", "tap=bcfy,mac=52:54:00:12:34:56"], configuration,
            "--net mac=52:54:00:12:34:56: used by two devices"),

        // Hooks.
        .run(["--hook", "up"], configuration, "--hook up: expected NAME=/abs/program"),
        .run(["--hook", "up=relative"], configuration, "--hook up relative: not an absolute path"),
        .run(["--hook", "up=$F/noexec-hook"], configuration, "--hook up=$F/noexec-hook: not executable"),
        .run(["--hook", "bad name=/usr/bin/true"], configuration, "hook names are 1-64 bytes"),
        .run(["--hook", "ifup=/usr/bin/true"], configuration, "--hook ifup: not a hook phase; one of prepare, up, started, down, stopped"),
        .run(["--hook", "up=/usr/bin/true", "--hook", "up=/usr/bin/false"], configuration, "--hook up: declared twice"),
        .run(["--hook-arg", "down=x"], configuration, "--hook-arg down=x: no hook named down is declared"),
        .run(["--hook", "up=$F/world-writable-hook"], configuration, "--hook up=$F/world-writable-hook: is group- or world-writable"),
        .run(["--hook", "up=/usr/bin/true", "--hook-arg", "up=" + String(repeating: "a", count: 4097)], configuration, "--hook-arg up: at most 4096 bytes"),
        .run(["--hook", "up=/usr/bin/true"] + Array(repeating: ["--hook-arg", "up=x"], count: 65).flatMap { $0 }, configuration, "--hook-arg up: at most 64 arguments"),

        // Console, name, helpers, services.
        .run(["--console", "relative.log"], configuration, "--console relative.log: expected stdout, none or an absolute path", without: [.console]),
        .run(["--console", "$F/nodir/console.log"], configuration, "--console $F/nodir/console.log: its directory does not exist", without: [.console]),
        .run(["--console", "$F/fifo"], configuration, "--console $F/fifo: exists and is not a regular file", without: [.console]),
        .run(["--console", "$F/canary.img"], configuration, "--console $F/canary.img: is also declared as a guest file", without: [.console]),
        // The parent opens the console as root for the guest to write: /proc/sys/kernel/core_pattern
        // is a regular file too. (/proc/1/environ stands in for it: not writable even by mistake.)
        .run(["--console", "/proc/1/environ"], configuration, "--console /proc/1/environ: is on proc, a kernel interface", without: [.console]),
        .run(["--console", "$F/dirlink/console.log"], configuration, "--console $F/dirlink/console.log: $F/dirlink is a symbolic link", without: [.console]),
        .run(["--console", "$F/link.img"], configuration, "--console $F/link.img: $F/link.img is a symbolic link", without: [.console]),
        .run(["--console", "$F/dir/../console.log"], configuration, "--console $F/dir/../console.log: has a . or .. component", without: [.console]),
        .run(["--console", "$F/immutable.img"], configuration, "--console $F/immutable.img: cannot be written", without: [.console]),
        .run(["--name", "a/b"], configuration, "--name a/b: expected 1 to 64 of A-Z a-z 0-9 _ . -", without: [.name]),
        .run(["--name", ".hidden"], configuration, "--name .hidden: expected", without: [.name]),
        .run(["--name", String(repeating: "n", count: 65)], configuration, "--name nnnn", without: [.name]),
        .run(["--helpers", "$F/missing-dir"], configuration, "--helpers $F/missing-dir: not an absolute path to a directory", without: [.helpers]),
        .run(["--helpers", "$F"], configuration, "$F/bulkhead-worker: not found or not executable", without: [.helpers]),
        .run(["--helpers", "$OPENSPY"], configuration, "-spy is writable by its group or others (mode 777)", without: [.helpers]),
        .run(["--helpers", "$FOREIGNSPY"], configuration, "/bulkhead-worker is owned by uid 65534, not root", without: [.helpers]),
        .run(["--connect", "block=relative.sock"], configuration, "--connect block=relative.sock: expected an absolute socket path"),
        .run(["--connect", "worker=/run/x.sock"], configuration, "--connect worker=/run/x.sock: expected block=SOCKET"),
        .run(["--connect", "block=$F/canary.img"], configuration, "--connect block=$F/canary.img: $F/canary.img is not a socket"),
        .run(["--connect", "net=$F/missing.sock"], configuration, "--connect net=$F/missing.sock: $F/missing.sock is not a socket"),

        // The test guest's command line: too long is refused; an unknown step only the guest knows.
        .run(["--cmdline", String(repeating: "banner ", count: 600)], configuration, "--cmdline: is 4200 bytes; at most 3840"),
        .run(["--cmdline", "nosuchstep poweroff"], guestFailure, "error: unknown step 'nosuchstep'", stage: .worker),

        // Units: a bad declaration writes nothing (65); an --out that cannot be made, 73.
        .command(["units", "--out", "$F/units", "--tap", "averyverylongtap0"], configuration, "--tap \"averyverylongtap0\""),
        .command(["units", "--out", "$F/units", "--file", "$F/canary.img"], configuration, "expected ro:/absolute/path or rw:/absolute/path"),
        .command(["units", "--out", "$F/units", "--file", "ro:relative.img"], configuration, "--file \"relative.img\": expected an absolute path"),
        .command(["units", "--out", "$F/units", "--file", "rw:/home/disk.img"], configuration, "/home is hidden from the service"),
        .command(["units", "--out", "$F/units", "--prefix", "../x"], configuration, "--prefix \"../x\""),
        .command(["units", "--out", "$F/units", "--user", "root"], configuration, "--user root: use a dedicated account"),
        .command(["units", "--out", "$F/units", "--hook", "up"], configuration, "--hook \"up\": expected NAME=/absolute/program"),
        .command(["units", "--out", "$F/units", "--hook", "up=/usr/bin/true", "--hook", "up=/bin/true"], configuration, "--hook up: declared twice"),
        .command(["units", "--out", "$F/units", "--hook-arg", "up=-v"], configuration, "--hook-arg \"up=-v\": expected NAME=ARG for a hook declared"),
        .command(["units", "--out", "$F/units", "--config-directory", "etc/bulkhead"], configuration, "directory \"etc/bulkhead\": expected an absolute path"),
        .command(["units", "--out", "$F/missing/units"], cannotCreate, "cannot create $F/missing/units"),

        // Status of a VM that does not run.
        .command(["status", "$NAME"], 1, "no running VM named $NAME"),
    ]

    @Test(arguments: rows)
    func badConfigurationIsRefusedNamingTheItemAndNothingStarts(row: Row) throws {
        let fixture = try BadConfigurationFixture()
        let arguments = row.arguments.map(fixture.substitute)
        let message = fixture.substitute(row.message)
        try fixture.startWatching()
        let run = try ParentRun.run(arguments, environment: ["BULKHEAD_RUNTIME_DIR": fixture.runtime])
        let events = fixture.events()

        #expect(run.status == row.status && !run.signaled, "\(run.errors)")
        #expect((run.errors + run.output).contains(message), "\(run.errors)\(run.output)")
        #expect(run.survivors.isEmpty, "left running: \(run.survivors)")
        #expect(!FileManager.default.fileExists(atPath: "/run/bulkhead/\(fixture.name)"))
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(fixture.tap)"))
        #expect(fixture.runtimeEntries.isEmpty, "registry: \(fixture.runtimeEntries)")
        #expect(!events.contains { $0.directory == fixture.files && $0.mask & FileWatch.writing != 0 }, "\(events)")
        switch row.stage {
        case .validation:
            if row.status == Self.usage {
                #expect(run.errors.hasPrefix("Error: "), "\(run.errors)")
            } else {  // one line per refused item (a policy may refuse several)
                #expect(run.errors.split(separator: "\n").allSatisfy { $0.hasPrefix("bulkhead: ") }, "\(run.errors)")
            }
            #expect(run.output.isEmpty, "\(run.output)")
            #expect(fixture.started.isEmpty, "spawned: \(fixture.started)")
            #expect(!events.contains { $0.directory == fixture.files }, "\(events)")
            #expect(!events.contains { $0.mask & FileWatch.writing != 0 }, "registered: \(events)")
        case .worker:
            // It really got as far as the worker, and the worker's failure is reported; the
            // block helper's read-only opens show that the watch sees what happens.
            #expect(fixture.started.contains("bulkhead-worker"), "spawned: \(fixture.started)")
            #expect(events.contains { $0.directory == fixture.files && $0.mask & UInt32(IN_OPEN) != 0 }, "\(events)")
        }
    }

    @Test func thereAreAtLeastFortyRowsAndEachBadItemOnce() {
        #expect(Self.rows.count >= 40)
        #expect(Set(Self.rows.map(\.testDescription)).count == Self.rows.count)
    }
}
