import Foundation
import Sandbox
import Testing

/// Our groups are systemd's, member for member, so one profile means the same thing as an
/// in-process filter and as a `SystemCallFilter=` line.
@Suite struct SyscallGroupTests {
    /// `systemd-analyze syscall-filter`, parsed: group name → listed members.
    static func systemdGroups() throws -> [String: [String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        process.arguments = ["syscall-filter"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var groups: [String: [String]] = [:]
        var current: String?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("@") {
                current = String(line)
                groups[String(line)] = []
            } else if let current, !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                groups[current]?.append(line.trimmingCharacters(in: .whitespaces))
            }
        }
        return groups
    }

    @Test(arguments: SyscallGroup.allCases)
    func groupMatchesSystemdAnalyze(_ group: SyscallGroup) throws {
        let systemd = try #require(try Self.systemdGroups()[group.rawValue], "systemd has no \(group.rawValue)")
        #expect(group.listedMembers.sorted() == systemd.sorted())
    }

    @Test func everySystemdGroupIsKnown() throws {
        let names = Set(try Self.systemdGroups().keys).subtracting(["@known"])
        #expect(names == Set(SyscallGroup.allCases.map(\.rawValue)))
    }

    @Test func nestedGroupsExpand() {
        #expect(SyscallGroup.privileged.syscallNames.contains("init_module"))  // via @module
        #expect(SyscallGroup.privileged.syscallNames.contains("chroot"))
        #expect(!SyscallGroup.privileged.syscallNames.contains("@module"))
    }
}
