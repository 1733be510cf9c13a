import KVM
import Sandbox
import SystemPackage
import TestGuest
import Vocabulary

/// The worker's command line: fds it inherited (by number) and the VM to build.
///
///     bulkhead-worker --kvm-fd FD [--console-fd FD|none] [--console-input-fd FD] [--console-tee-fd FD]
///                     [--report-fd FD] [--status-fd FD] [--memory MIB] [--cpus N] [--cmdline "STEP ..."]
///                     [--seccomp kill|trap|log|none] [--device escape-probe]
///                     [--kernel-fd FD [--initrd-fd FD] [--append "..."]]
///                     [--block-socket-fd FD --kernel PATH [--initrd PATH] [--append "..."]]
///                     [--hide-cpuid FEATURE[,FEATURE...]] [--disk-fd FD[,readonly]]...
///                     [--tap-fd FD[,mac=MAC]]...
///                     [--disk PATH[,readonly]]... (with --block-socket-fd)
///                     [--net-socket-fd FD --tap NAME[,mac=MAC]...]
///
/// The parent opens /dev/kvm and every other file (kernel and initrd come from the block
/// helper as fds); the worker never opens a path. Without --kernel-fd it boots the built-in
/// test guest with --cmdline; with it, a Linux vmlinux or bzImage with --append.
struct WorkerOptions {
    /// An open /dev/kvm fd (required).
    var kvmFD = FileDescriptor(rawValue: -1)
    /// Where the guest's UART output goes (default 1); nil discards it.
    var consoleFD: FileDescriptor? = .standardOutput
    /// What the guest reads from the UART (the read end of the parent's pipe); nil: no input.
    /// The io thread reads it (ConsoleReceiver), never more than the receive FIFO has room for.
    var consoleInputFD: FileDescriptor?
    /// A second copy of the UART output for `bulkhead console` (the write end of a
    /// non-blocking pipe to the parent): written after the console fd, dropped when full.
    var consoleTeeFD: FileDescriptor?
    /// Where errors and the trap-mode forbidden-call line go (default 2).
    var reportFD = FileDescriptor.standardError
    /// Optional: one line `ready` once every thread is confined, `started` once a vCPU's first
    /// KVM_RUN returned (the guest ran), `poweroff STATUS` at the end.
    var statusFD: FileDescriptor?
    var memoryMiB = 64
    var cpus = 1
    var cmdline = "banner poweroff"
    var seccomp = FilterMode.kill
    var escapeProbe = false
    /// A Linux kernel (ELF vmlinux or bzImage) to boot instead of the test guest.
    var kernelFD: FileDescriptor?
    var initrdFD: FileDescriptor?
    /// The block helper's socket: kernel and initrd paths are asked of it (FileRequests),
    /// before confinement, and its fds are used as --kernel-fd/--initrd-fd are.
    var blockSocketFD: FileDescriptor?
    var kernelPath: String?
    var initrdPath: String?
    var append = "console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=k panic=-1"
    /// CPUID bits the guest must not see (e.g. `cx16`, which PVM's ring-0 emulator lacks).
    var hiddenCPUID: [CPUIDFeature] = []
    /// virtio-blk disks on fds the block helper opened, in device order (VirtioDevices).
    var disks: [DiskOption] = []
    /// virtio-net devices on tap fds the net helper opened, after the disks.
    var taps: [TapOption] = []
    /// Disks and taps named for the helpers (`bulkhead run`): FileRequests turns them into
    /// `disks` and `taps` entries with the fds the helpers hand over, before confinement.
    var diskPaths: [(path: String, readOnly: Bool)] = []
    var netSocketFD: FileDescriptor?
    var tapNames: [(name: String, mac: String?)] = []

    static let usage = """
        usage: bulkhead-worker --kvm-fd FD [--console-fd FD|none] [--console-input-fd FD] [--console-tee-fd FD]
                               [--report-fd FD] [--status-fd FD] [--memory MIB] [--cpus N] [--cmdline "STEP ..."]
                               [--seccomp kill|trap|log|none] [--device escape-probe]
                               [--kernel-fd FD [--initrd-fd FD] [--append "..."]]
                               [--block-socket-fd FD --kernel PATH [--initrd PATH] [--append "..."]]
                               [--hide-cpuid FEATURE[,FEATURE...]] [--disk-fd FD[,readonly]]...
                               [--tap-fd FD[,mac=MAC]]...
                               [--disk PATH[,readonly]]... (with --block-socket-fd)
                               [--net-socket-fd FD --tap NAME[,mac=MAC]...]
        """

    init(arguments: [String]) throws(WorkerError) {
        var rest = arguments[...]
        func value(_ flag: String) throws(WorkerError) -> String {
            guard let v = rest.popFirst() else { throw .usage("\(flag) needs a value") }
            return v
        }
        func number(_ flag: String, _ range: ClosedRange<Int>) throws(WorkerError) -> Int {
            let text = try value(flag)
            guard let n = Int(text), range.contains(n) else {
                throw .usage("\(flag) \(text): expected a number in \(range.lowerBound)...\(range.upperBound)")
            }
            return n
        }
        func descriptor(_ flag: String) throws(WorkerError) -> FileDescriptor {
            FileDescriptor(rawValue: Int32(try number(flag, 0...65535)))
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--kvm-fd": kvmFD = try descriptor(flag)
            case "--console-fd":
                if rest.first == "none" { _ = rest.popFirst(); consoleFD = nil }
                else { consoleFD = try descriptor(flag) }
            case "--console-input-fd": consoleInputFD = try descriptor(flag)
            case "--console-tee-fd": consoleTeeFD = try descriptor(flag)
            case "--report-fd": reportFD = try descriptor(flag)
            case "--status-fd": statusFD = try descriptor(flag)
            case "--memory": memoryMiB = try number(flag, VMLimits.memoryMiB)
            case "--cpus": cpus = try number(flag, VMLimits.cpus)
            case "--cmdline":
                cmdline = try value(flag)
                guard cmdline.utf8.count <= TestGuest.Layout.cmdlineMax else {
                    throw .usage("--cmdline is \(cmdline.utf8.count) bytes; at most \(TestGuest.Layout.cmdlineMax)")
                }
            case "--seccomp":
                let text = try value(flag)
                do { seccomp = try FilterMode(parsing: text) } catch { throw .usage("\(error)") }
            case "--device":
                let text = try value(flag)
                guard text == "escape-probe" else { throw .usage("--device \(text): the only device is escape-probe") }
                escapeProbe = true
            case "--kernel-fd": kernelFD = try descriptor(flag)
            case "--initrd-fd": initrdFD = try descriptor(flag)
            case "--block-socket-fd": blockSocketFD = try descriptor(flag)
            case "--kernel": kernelPath = try value(flag)
            case "--initrd": initrdPath = try value(flag)
            case "--append": append = try value(flag)
            case "--hide-cpuid":
                for name in try value(flag).split(separator: ",") {
                    guard let feature = CPUIDFeature(named: String(name)) else {
                        throw .usage("--hide-cpuid \(name): known features are \(CPUIDFeature.known.map(\.name).joined(separator: ", "))")
                    }
                    hiddenCPUID.append(feature)
                }
            case "--disk-fd": disks.append(try DiskOption(parsing: try value(flag)))
            case "--tap-fd": taps.append(try TapOption(parsing: try value(flag)))
            case "--disk":
                let text = try value(flag)
                let readOnly = text.hasSuffix(",readonly")
                diskPaths.append((readOnly ? String(text.dropLast(9)) : text, readOnly))
            case "--net-socket-fd": netSocketFD = try descriptor(flag)
            case "--tap":
                let parts = try value(flag).split(separator: ",", maxSplits: 1)
                guard let name = parts.first, parts.count == 1 || parts[1].hasPrefix("mac=") else {
                    throw .usage("--tap: expected NAME[,mac=MAC]")
                }
                tapNames.append((String(name), parts.count == 2 ? String(parts[1].dropFirst(4)) : nil))
            case "--help", "-h": throw .usage(Self.usage)
            default: throw .usage("unknown option \(flag)\n\(Self.usage)")
            }
        }
        guard kvmFD.rawValue >= 0 else { throw .usage("--kvm-fd is required\n\(Self.usage)") }
        // A probe run tests the filters, not devices: the probe comes without virtio devices.
        guard diskPaths.isEmpty || blockSocketFD != nil else { throw .usage("--disk needs --block-socket-fd") }
        guard tapNames.isEmpty || netSocketFD != nil else { throw .usage("--tap needs --net-socket-fd") }
        guard !escapeProbe || (disks.isEmpty && taps.isEmpty && diskPaths.isEmpty && tapNames.isEmpty) else { throw .usage("--device escape-probe excludes virtio devices") }
        guard kernelFD != nil || initrdFD == nil else { throw .usage("--initrd-fd needs --kernel-fd") }
        guard (kernelPath == nil && initrdPath == nil) || blockSocketFD != nil else {
            throw .usage("--kernel and --initrd need --block-socket-fd (the worker never opens a path)")
        }
        guard kernelPath != nil || initrdPath == nil else { throw .usage("--initrd needs --kernel") }
        guard kernelPath == nil || kernelFD == nil else { throw .usage("--kernel and --kernel-fd exclude each other") }
    }
}
