import ArgumentParser
import Cgroup
import Glibc
import JSONText
import ProcessInspection

/// `bulkhead status [NAME] [--format json]`: for each running VM (VMRegistry) and each of its
/// processes and threads, what it really holds, read from /proc and nothing else: uid/gid,
/// capabilities, no-new-privileges, seccomp mode and stacked filters, namespaces next to the
/// host's (PID 1's), resource limits (DESIGN.md §7); the VM's cgroup v2 with its memory.max and
/// pids.max read from cgroupfs, and each process's own v2 cgroup from /proc/PID/cgroup.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what each process and thread of the running VMs holds, read from /proc.",
        discussion: "Exit status: 0; 1 when NAME is not a running VM. Entries of VMs whose parent died are pruned.")

    @Argument(help: "Only this VM (as given to `bulkhead run --name`).")
    var name: String?

    @Option(help: "text or json")
    var format: String = "text"

    /// The limits `bulkhead status` shows, by /proc/PID/limits name.
    static let limits = [
        ("core", "Max core file size"), ("nproc", "Max processes"), ("nofile", "Max open files"), ("fsize", "Max file size"),
    ]

    func run() throws {
        guard format == "text" || format == "json" else { throw ValidationError("--format: expected text or json") }
        var vms = VMRegistry.entries(prune: geteuid() == 0)
        if let name {
            vms = vms.filter { $0.name == name }
            if vms.isEmpty {
                StandardError.line("no running VM named \(name)")
                throw ExitCode(1)
            }
        }
        let (reference, host) = ProcFS.hostNamespaces()
        let reports = vms.map { vm in
            (vm, ([("parent", vm.parent)] + vm.processes).map { ($0.0, ProcessSnapshot(pid: $0.1, host: host), $0.1) })
        }
        if format == "json" {
            print(
                JSONValue.object([
                    ("hostNamespaces", .string(reference)), ("vms", .array(reports.map { Self.json($0.0, $0.1) })),
                ]).rendered())
        } else {
            if reports.isEmpty { print("no running VMs") } else { print("namespaces: host = \(reference)") }
            for (vm, processes) in reports { print(Self.text(vm, processes), terminator: "") }
        }
    }

    static func text(_ vm: VMRegistry.Entry, _ processes: [(String, ProcessSnapshot?, Int32)]) -> String {
        var out = "vm \(vm.name): parent pid \(vm.parent)\(vm.uid.map { ", uid \($0)" } ?? "")\n"
        let cgroup = VMCgroupStatus(vm.cgroup)
        out += "  cgroup: \(cgroup.text)\n"
        for (role, snapshot, pid) in processes {
            guard let snapshot else {
                out += "  \(role) pid \(pid): gone\n"
                continue
            }
            out += "  \(role) pid \(pid)\n"
            out += "    cgroup v2: \(cgroup.membership(of: pid))\n"
            out += "    namespaces: "
                + snapshot.namespaces.map { "\($0.kind) \($0.sharedWithHost ? "host" : "own")" }.joined(separator: ", ") + "\n"
            out += "    limits: "
                + limits.map { short, long in
                    "\(short) \(snapshot.limit(long).map { ResourceLimit.text($0.soft) } ?? "?")"
                }.joined(separator: ", ") + "\n"
            for thread in snapshot.threads {
                let s = thread.status
                out += "    tid \(thread.tid) \(s.name ?? "?"): uid \(s.uids?.first.map(String.init) ?? "?")"
                out += " gid \(s.gids?.first.map(String.init) ?? "?")"
                out += " cap eff \(Capability.summary(s.capEff)) prm \(Capability.summary(s.capPrm)) bnd \(Capability.summary(s.capBnd))"
                out += " nnp \(s.noNewPrivs.map { $0 ? "1" : "0" } ?? "?")"
                out += " seccomp \(seccompText(s.seccompMode)) filters \(s.seccompFilters.map(String.init) ?? "?")\n"
            }
        }
        return out
    }

    static func seccompText(_ mode: Int?) -> String {
        switch mode {
        case 0: "none"
        case 1: "strict"
        case 2: "filter"
        default: "?"
        }
    }

    static func json(_ vm: VMRegistry.Entry, _ processes: [(String, ProcessSnapshot?, Int32)]) -> JSONValue {
        func integer(_ value: (some BinaryInteger)?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
        func caps(_ mask: UInt64?) -> JSONValue { mask.map { .array(Capability.decode($0).map { .string($0) }) } ?? .null }
        func ids(_ list: [UInt32]?) -> JSONValue { list.map { .array($0.map { .integer(Int64($0)) }) } ?? .null }
        let list: [JSONValue] = processes.map { role, snapshot, pid in
            guard let snapshot else { return .object([("role", .string(role)), ("pid", integer(pid)), ("gone", true)]) }
            return .object([
                ("role", .string(role)), ("pid", integer(pid)),
                ("cgroup", VMCgroupStatus.ownCgroup(of: pid).map { .string($0) } ?? .null),
                (
                    "namespaces",
                    .object(snapshot.namespaces.map { ($0.kind, .object([("id", .string($0.id)), ("host", .bool($0.sharedWithHost))])) })
                ),
                (
                    "limits",
                    .object(limits.map { short, long in
                        let limit = snapshot.limit(long)
                        return (short, .object([("soft", integer(limit?.soft)), ("hard", integer(limit?.hard))]))
                    })
                ),
                (
                    "threads",
                    .array(snapshot.threads.map { thread in
                        let s = thread.status
                        return .object([
                            ("tid", integer(thread.tid)), ("name", s.name.map { .string($0) } ?? .null), ("uid", ids(s.uids)),
                            ("gid", ids(s.gids)), ("capEff", caps(s.capEff)), ("capPrm", caps(s.capPrm)), ("capBnd", caps(s.capBnd)),
                            ("noNewPrivs", s.noNewPrivs.map { .bool($0) } ?? .null), ("seccomp", integer(s.seccompMode)),
                            ("seccompFilters", integer(s.seccompFilters)),
                        ])
                    })
                ),
            ])
        }
        return .object([
            ("name", .string(vm.name)), ("parent", integer(vm.parent)), ("uid", integer(vm.uid)),
            ("cgroup", VMCgroupStatus(vm.cgroup).json), ("processes", .array(list)),
        ])
    }
}
