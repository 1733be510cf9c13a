// swift-tools-version:6.0
// Bulkhead: a KVM virtual machine monitor split into confined processes.
// Imports point one way: executables → libraries → the C shims (CShim, CParent, CHelper,
// CWorker, CBench) / system libraries.
import PackageDescription

let package = Package(
    name: "Bulkhead",
    products: [
        .executable(name: "bulkhead", targets: ["bulkhead"]),
        .library(name: "Sandbox", targets: ["Sandbox"]),
        // For the libFuzzer package in Fuzzing/ (its own build: `make fuzz`).
        .library(name: "FuzzEntries", targets: ["FuzzEntries"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Plain C functions for what Swift cannot call (variadic calls, macros, raw ABIs), one
        // target per layer so each Swift target sees only the C it uses. CShim is what every
        // process shares: prctl, raw syscalls, the SIGSYS reporter, SCM_RIGHTS, the defenses a
        // child applies to itself.
        .target(name: "CShim", path: "Sources/CShim"),
        // The parent's: spawn with an fd map into the VM cgroup, signalfd, ppoll, capabilities,
        // ACLs, the control socket, the controlling terminal.
        .target(name: "CParent", path: "Sources/CParent"),
        // The helpers': race-safe opens and file status, taps, hook processes, socket activation.
        .target(name: "CHelper", path: "Sources/CHelper"),
        // The worker's: KVM ioctls and kvm_run, virtio memory ordering, eventfds, malloc arenas.
        .target(name: "CWorker", path: "Sources/CWorker"),
        // The benchmarks': CPU pinning.
        .target(name: "CBench", path: "Sources/CBench"),
        .systemLibrary(
            name: "CSeccomp", path: "Sources/CSeccomp", pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]),

        // What every layer names alike, depending on nothing: the helper kinds, the VM's limits
        // (VMLimits), the name rules for taps, hooks and VMs, and the error for a refused configuration.
        .target(name: "Vocabulary", path: "Sources/Vocabulary"),

        // JSON output without Foundation, for the CLI's `--format json`.
        .target(name: "JSONText", path: "Sources/JSONText"),

        // Syscall groups, role profiles, filter building and installing, kill reports.
        .target(
            name: "Sandbox",
            dependencies: [
                "CShim", "CSeccomp", "JSONText", "Vocabulary",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Sources/Sandbox", exclude: ["README.md"]),

        // Defense in depth (DESIGN.md §7): what a child applies to itself before it confines
        // (uid, capabilities, namespaces, rlimits), and reading back from /proc what a process
        // really holds (`bulkhead status`). Both Foundation-free.
        .target(name: "ProcessDefense", dependencies: ["CShim"], path: "Sources/ProcessDefense"),
        .target(name: "ProcessInspection", path: "Sources/ProcessInspection"),
        // The VM's cgroup v2 (DESIGN.md §7): hierarchy detection, --memory-limit/--pids-limit,
        // membership, cgroup.kill and removal, read back for `bulkhead status`.
        .target(
            name: "Cgroup",
            dependencies: ["CParent", "ProcessInspection", "Vocabulary", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/Cgroup"),
        .testTarget(
            name: "DefenseTests",
            dependencies: [
                "ProcessInspection", "Cgroup", "Vocabulary", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Tests/DefenseTests"),

        // The values `bulkhead run` options take, parsed without touching the file system.
        .target(name: "RunSpecs", dependencies: ["Vocabulary"], path: "Sources/RunSpecs"),

        // The `bulkhead` command line.
        .executableTarget(
            name: "bulkhead",
            dependencies: [
                "Sandbox",
                "RunSpecs",
                "Vocabulary",
                "BulkheadProtocol",
                "CShim",
                "CParent",
                "HostAccess",
                "JSONText",
                "KVM",
                "SystemdUnits",
                "JournalLog",
                "ProcessInspection",
                "Cgroup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/bulkhead"),

        // Test-only: installs a role's filters as the real process does, then makes one call.
        .executableTarget(
            name: "bulkhead-syscall-probe", dependencies: ["Sandbox", "CShim"],
            path: "Tests/SyscallProbe"),

        // `make bench`: filter cost per call, side by side with the unfiltered reference.
        .executableTarget(
            name: "bulkhead-filter-bench", dependencies: ["Sandbox", "CShim"],
            path: "Benchmarks/FilterBench"),

        // The helpers' host access: declared files (block), taps (net) and hooks (exec).
        .target(
            name: "HostAccess",
            dependencies: ["CShim", "CHelper", "Vocabulary", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/HostAccess"),
        // Test-only: declares, confines itself with a helper profile, serves one request.
        .executableTarget(
            name: "bulkhead-hostaccess-probe", dependencies: ["HostAccess", "Sandbox"],
            path: "Tests/HostAccessProbe"),
        .testTarget(
            name: "HostAccessTests", dependencies: ["HostAccess", "CHelper", "Sandbox", "TestSupport"],
            path: "Tests/HostAccessTests"),

        .testTarget(
            name: "SandboxTests", dependencies: ["Sandbox", "TestSupport"],
            path: "Tests/SandboxTests"),
        // KVM bindings over fds handed in (Foundation-free), the built-in test guest (Guest/,
        // built by the system gcc through a build-tool plugin) and the worker that runs a VM.
        .target(
            name: "KVM",
            dependencies: ["CWorker", "Vocabulary", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/KVM"),
        .plugin(name: "TestGuestBuilder", capability: .buildTool(), path: "Plugins/TestGuestBuilder"),
        .target(name: "TestGuest", dependencies: ["Vocabulary"], path: "Sources/TestGuest", plugins: ["TestGuestBuilder"]),
        // Device models the vCPU and io threads run: the 16550 UART, virtio-mmio blk and net, the escape probe.
        .target(
            name: "Devices",
            dependencies: ["KVM", "CWorker", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/Devices"),
        .executableTarget(
            name: "bulkhead-worker",
            dependencies: [
                "KVM", "Devices", "Sandbox", "TestGuest", "CShim", "CWorker", "BulkheadProtocol", "ProcessDefense", "Vocabulary",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Sources/Worker", exclude: ["README.md"]),
        // Test-only: what several test targets share (the machine-wide Linux boot lock, Debian's kernel).
        .target(name: "TestSupport", path: "Tests/Support"),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "KVM", "Devices", "Sandbox", "TestGuest", "CShim", "CParent", "CWorker", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Tests/WorkerTests"),
        // Drives the real `bulkhead` executable: run, check, devices, policy, supervision.
        .testTarget(name: "ParentTests", dependencies: ["TestSupport"], path: "Tests/ParentTests", exclude: ["Fixtures"]),
        // Fault storm and load (Tests/Storm/storm.py, load.py; `make storm`, `make load`): a
        // shortened run of each drives real VMs through the built `bulkhead`.
        .testTarget(name: "StormTests", dependencies: ["TestSupport"], path: "Tests/StormTests"),
        // virtio-mmio, split virtqueues (hostile queues built in guest memory) and virtio-blk.
        .testTarget(
            name: "VirtioTests",
            dependencies: ["KVM", "Devices", .product(name: "SystemPackage", package: "swift-system")],
            path: "Tests/VirtioTests"),

        // The helper IPC protocol: SEQPACKET transport, wire codec, command catalog, request loop.
        .target(
            name: "BulkheadProtocol",
            dependencies: ["CShim", "JSONText", "Vocabulary", .product(name: "SystemPackage", package: "swift-system")],
            path: "Protocol/Sources"),
        .testTarget(
            name: "ProtocolTests", dependencies: ["BulkheadProtocol", "Sandbox", "Vocabulary", "TestSupport"],
            path: "Tests/ProtocolTests"),
        // Helper round trip (request → fd) against a raw SEQPACKET ping-pong, same pinning.
        .executableTarget(
            name: "bulkhead-protocol-bench", dependencies: ["BulkheadProtocol", "CBench"],
            path: "Benchmarks/ProtocolBench"),

        // The three helpers (Helpers/README.md): Foundation-free, confined before their first
        // request. HelperSupport is their shared start-up: argv, fd hygiene, confinement, serve.
        .target(
            name: "HelperSupport",
            dependencies: [
                "BulkheadProtocol", "Sandbox", "CShim", "CHelper", "ProcessDefense", "JournalLog", "HostAccess", "Vocabulary",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Helpers/Support"),
        .executableTarget(
            name: "bulkhead-block", dependencies: ["HelperSupport", "HostAccess", "BulkheadProtocol"],
            path: "Helpers/block"),
        .executableTarget(
            name: "bulkhead-net",
            dependencies: [
                "HelperSupport", "HostAccess", "BulkheadProtocol",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Helpers/net"),
        .executableTarget(
            name: "bulkhead-exec", dependencies: ["HelperSupport", "HostAccess", "BulkheadProtocol"],
            path: "Helpers/exec"),
        // systemd (DESIGN.md §8): libsystemd for the journal, the units `bulkhead units` writes
        // (from the same profiles), and tests with systemd-analyze and systemd-socket-activate.
        .systemLibrary(
            name: "CSystemd", path: "Sources/CSystemd", pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]),
        .target(name: "SystemdUnits", dependencies: ["Sandbox", "HostAccess", "Vocabulary"], path: "Sources/SystemdUnits"),
        .target(
            name: "JournalLog",
            dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")],
            path: "Sources/JournalLog"),
        // Test-only: starts a program under a unit file's SystemCallFilter=, as systemd would.
        .executableTarget(name: "bulkhead-unit-exec", dependencies: ["Sandbox"], path: "Tests/UnitExec"),
        .testTarget(
            name: "SystemdTests",
            dependencies: ["SystemdUnits", "HelperSupport", "BulkheadProtocol", "JournalLog", "TestSupport"],
            path: "Tests/SystemdTests"),
        // Spawns the built helpers beside the test binary and drives them through the protocol.
        .testTarget(
            name: "HelperTests", dependencies: ["BulkheadProtocol", "HelperSupport", "TestSupport", "Vocabulary"],
            path: "Tests/HelperTests"),

        // Hostile input (issue 9): one entry per input surface, called by the libFuzzer
        // targets in Fuzzing/ and by FuzzInputTests, which replays every committed input
        // under Tests/FuzzInputs (seeds and crash reproducers).
        .target(
            name: "FuzzEntries",
            dependencies: [
                "BulkheadProtocol", "HostAccess", "KVM", "Devices", "HelperSupport", "RunSpecs", "Sandbox",
                "ProcessInspection", "Cgroup", "Vocabulary",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Tests/FuzzEntries"),
        .testTarget(name: "FuzzInputTests", dependencies: ["FuzzEntries"], path: "Tests/FuzzInputTests"),

        // Profile coverage (issue 13, `make profile-coverage`): every scenario under strace with
        // the real filters; each rule exercised or its unexercised path declared and tested.
        .testTarget(
            name: "CoverageTests",
            dependencies: ["Sandbox", "BulkheadProtocol", "TestSupport", .product(name: "SystemPackage", package: "swift-system")],
            path: "Tests/CoverageTests"),
    ]
)
