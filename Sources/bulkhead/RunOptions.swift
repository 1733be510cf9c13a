import ArgumentParser
import KVM
import Vocabulary

/// The options `bulkhead run` and `bulkhead check` share, exactly as typed. Nothing here is
/// trusted: `RunConfiguration` validates all of it (numbers are taken as text so that a bad
/// one is a configuration error, exit 65, naming the item, like every other).
struct RunOptions: ParsableArguments {
    @Option(help: "Guest memory in MiB (\(VMLimits.memoryMiB); at least \(LinuxBoot.minimumMemoryMiB) with --kernel).")
    var memory: String = "64"

    @Option(help: "Number of vCPUs (\(VMLimits.cpus)).")
    var cpus: String = "1"

    @Option(help: "The test guest's steps (Guest/README.md), e.g. \"banner cpus poweroff\".")
    var cmdline: String?

    @Option(help: "A Linux kernel (ELF vmlinux or bzImage) to boot instead of the test guest; absolute path.")
    var kernel: String?

    @Option(help: "An initrd for --kernel; absolute path.")
    var initrd: String?

    @Option(help: "The Linux kernel command line (with --kernel).")
    var append: String?

    @Option(help: "CPUID features the guest kernel must not see, FEATURE[,FEATURE...] (e.g. cx16 on PVM).")
    var hideCpuid: String?

    @Option(name: .customLong("disk"), help: "A disk image, PATH[,readonly] (repeatable); declared to the block helper.")
    var disks: [String] = []

    @Option(name: .customLong("net"), help: "A network device, tap=NAME[,mac=MAC] (repeatable); declared to the net helper.")
    var nets: [String] = []

    @Option(name: .customLong("hook"), help: "A hook program for one phase, PHASE=/abs/program: prepare, up, started, down, stopped (repeatable).")
    var hooks: [String] = []

    @Option(name: .customLong("hook-arg"), help: "One fixed argument for a declared hook, NAME=ARG (repeatable, in order).")
    var hookArguments: [String] = []

    @Option(help: "Hook time limit in milliseconds (1...600000).")
    var hookTimeoutMs: String?

    @Option(help: "Where the guest's serial console goes: stdout, none, or an absolute FILE.")
    var console: String = "stdout"

    @Option(help: "Seccomp mode: kill (default), trap, log or none (log and none are insecure: need --allow-insecure).")
    var seccomp: String = "kill"

    @Option(name: .customLong("device"), help: "An optional device model: escape-probe (insecure, for tests: needs --allow-insecure).")
    var devices: [String] = []

    @Flag(help: "Allow what is declared insecure (the escape probe, --seccomp log or none); refused without it.")
    var allowInsecure = false

    @Flag(help: "Refuse anything declared insecure, even with --allow-insecure.")
    var prohibitInsecure = false

    @Flag(help: "Refuse anything not declared secure.")
    var requireSecure = false

    @Option(name: .customLong("deny-feature"), help: "Refuse every helper command in this feature group (repeatable).")
    var deniedFeatures: [String] = []

    @Option(help: "Directory holding bulkhead-worker and the helpers (default: beside bulkhead).")
    var helpers: String?

    @Option(help: "Connect to helper services instead of spawning them: block=SOCKET,net=SOCKET,exec=SOCKET (any subset).")
    var connect: String?

    @OptionGroup var defense: DefenseOptions

    @OptionGroup var cgroup: CgroupOptions

    @OptionGroup var control: ControlOptions
}
