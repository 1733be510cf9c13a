import Foundation
import Sandbox
import Testing
import TestSupport

/// What the declarations promise, checked on the declarations themselves.
@Suite struct ProfileTests {
    @Test(arguments: Role.allCases.filter { $0.budget != nil })
    func roleStaysWithinItsBudget(_ role: Role) throws {
        let budget = try #require(role.budget)
        #expect(role.effectiveAllowList.count <= budget, "\(role.rawValue): \(role.effectiveAllowList.keys.sorted())")
    }

    @Test(arguments: [Role.control, .vcpu, .io])
    func threadRoleAllowsNothingItsBaseRefuses(_ role: Role) {
        let base = Role.workerBase.profile.allowList
        let beyond = role.profile.allowList.keys.filter { base[$0] == nil }
        #expect(beyond.isEmpty, "\(role.rawValue) declares \(beyond.sorted()) that worker-base kills anyway")
    }

    @Test(arguments: [Role.workerBase, .control, .vcpu, .io])
    func noWorkerRoleMapsExecutableMemory(_ role: Role) {
        for call in ["mmap", "mprotect"] {
            let exec = [0, 4096, KernelConstant.protExec | 1, 0x22, UInt64.max, 0]
            #expect(role.answer(for: call, arguments: exec) == nil, "\(role.rawValue) \(call) PROT_EXEC")
        }
    }

    @Test func vcpuIoctlIsLimitedToKVMRun() {
        #expect(Role.vcpu.answer(for: "ioctl", arguments: [3, KernelConstant.kvmRun, 0, 0, 0, 0]) == .allow)
        for request in RemovedIoctl.vcpu.map(\.request) + [0x5401 /* TCGETS */, KernelConstant.tunSetIff, 0xAE01 /* KVM_CREATE_VM */] {
            #expect(Role.vcpu.answer(for: "ioctl", arguments: [3, request, 0, 0, 0, 0]) == nil)
        }
    }

    @Test func netIoctlIsLimitedToTUNSETIFF() {
        #expect(Role.net.answer(for: "ioctl", arguments: [3, KernelConstant.tunSetIff, 0, 0, 0, 0]) == .allow)
        for request in RemovedIoctl.net.map(\.request) {
            #expect(Role.net.answer(for: "ioctl", arguments: [3, request, 0, 0, 0, 0]) == nil)
        }
    }

    @Test(arguments: [Role.execHook, .execService])
    func hookLauncherHoldsNoPrivilegedOrMountOrModuleCall(_ role: Role) {
        let allowed = Set(role.effectiveAllowList.filter { $0.value.contains { $0.answer == .allow } }.keys)
        for group in [SyscallGroup.privileged, .mount, .module, .obsolete, .rawIO, .reboot, .swap, .debug] {
            #expect(allowed.isDisjoint(with: group.syscallNames), "\(group.rawValue): \(allowed.intersection(group.syscallNames))")
        }
        #expect(allowed.contains("execve"))
    }

    /// The exec server only checks requests and passes them on: it can start, open or signal nothing.
    @Test func execServerCanNeitherStartNorOpenNorSignalAnything() {
        let allowed = Set(Role.exec.effectiveAllowList.keys)
        for call in ["execve", "execveat", "fork", "vfork", "clone", "clone3", "openat", "open", "kill", "ptrace", "socket", "connect"] {
            #expect(!allowed.contains(call), "\(call)")
        }
        #expect(allowed.isSubset(of: Set(Role.execService.effectiveAllowList.keys)), "the unit's filter bounds the server too")
        #expect(Set(Role.execHook.effectiveAllowList.keys).isSubset(of: Set(Role.execService.effectiveAllowList.keys)))
    }

    @Test func jsonListsEverySyscallWithNameNumberAndConditions() throws {
        let text = ProfileDocument(role: .vcpu).rendered(as: .json)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let syscalls = try #require(json["syscalls"] as? [[String: Any]])
        #expect(syscalls.count == Role.vcpu.effectiveAllowList.count)
        let ioctl = try #require(syscalls.first { $0["name"] as? String == "ioctl" })
        #expect(ioctl["number"] as? Int == 16)
        #expect((ioctl["conditions"] as? [[String]])?.count == 1)
    }

    @Test(arguments: Role.allCases)
    func systemdFormatPassesSystemdAnalyzeVerify(_ role: Role) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-verify-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let unit = directory.appendingPathComponent("bulkhead-\(role.rawValue).service")
        let filter = ProfileDocument(role: role).rendered(as: .systemd)
        try FixtureFile.write(unit.path, text: "[Service]\nExecStart=/bin/true\n\(filter)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        process.arguments = ["verify", "--man=no", unit.path]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = err
        try process.run()
        let output = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(!output.contains("Failed to parse") && !output.contains("Unknown"), "\(output)")
    }
}
