import Foundation
import Testing

/// What the kernel says about a running worker (/proc/PID/task/*): every thread carries its
/// role's name, and every role thread has its own filter stacked on the process filter.
@Suite struct ThreadConfinementTests {
    struct TaskState: Equatable {
        let name: String
        let seccompMode: Int
        let filters: Int
    }

    /// The worker's own threads. KVM adds a kernel worker (`kvm-nx-lpage-recovery`, a
    /// vhost_task in our thread group started by the first KVM_RUN) that never runs user code.
    static func tasks(of pid: pid_t) -> [TaskState] {
        let dir = "/proc/\(pid)/task"
        let tids = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return tids.compactMap { tid in
            guard let status = try? String(contentsOfFile: "\(dir)/\(tid)/status", encoding: .utf8) else { return nil }
            func field(_ name: String) -> String? {
                status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                    .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
            }
            return TaskState(
                name: field("Name") ?? "", seccompMode: Int(field("Seccomp") ?? "") ?? -1,
                filters: Int(field("Seccomp_filters") ?? "") ?? -1)
        }.filter { !$0.name.hasPrefix("kvm-") }.sorted { $0.name < $1.name }
    }

    @Test func everyThreadIsNamedForItsRoleAndStacksItsFilterOnTheBase() throws {
        var seen: [TaskState] = []
        let run = try WorkerRun.run(["--cpus", "2", "--cmdline", "cpus sleep=3000"], stopWhen: { output, pid in
            guard output.contains("cpus: 2") else { return false }
            usleep(200_000)  // the parked vCPU and the io thread are idle by now
            seen = Self.tasks(of: pid)
            return true
        })
        #expect(run.ending == .signaled(SIGKILL))
        #expect(seen == [
            TaskState(name: "bulkhead-worker", seccompMode: 2, filters: 2),  // main: waits for control under its filter
            TaskState(name: "control", seccompMode: 2, filters: 2),
            TaskState(name: "io", seccompMode: 2, filters: 2),
            TaskState(name: "vcpu0", seccompMode: 2, filters: 2),
            TaskState(name: "vcpu1", seccompMode: 2, filters: 2),
        ])
    }

    @Test func withoutFiltersTheThreadsStillCarryTheirRoleNames() throws {
        var names: [String] = []
        _ = try WorkerRun.run(["--seccomp", "none", "--cmdline", "banner sleep=3000"], stopWhen: { output, pid in
            guard output.contains("vcpu\n") else { return false }
            usleep(200_000)
            names = Self.tasks(of: pid).map(\.name)
            return true
        })
        #expect(names == ["bulkhead-worker", "control", "io", "vcpu0"])
    }
}
