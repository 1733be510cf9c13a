import Cgroup
import Foundation
import SystemPackage
import Testing
import TestSupport
import Vocabulary

/// The cgroup v2 writing path against a PLAIN DIRECTORY LAID OUT LIKE A CGROUP (regular files
/// named cgroup.controllers, cgroup.subtree_control, memory.max, pids.max), not cgroupfs:
/// this host binds memory and pids to cgroup v1, so its v2 hierarchy cannot take these limits
/// (VMCgroupTests proves the refusal on the real hierarchy). What is proven here is what
/// bulkhead writes where; the kernel's enforcement is not.
@Suite struct CgroupWritingTests {
    /// A fresh directory laid out like a cgroup: `controllers` offered, `enabled` for children.
    static func fakeCgroup(controllers: String, enabled: String) throws -> String {
        let path = NSTemporaryDirectory() + "bulkhead-fake-cgroup-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try FixtureFile.write(path + "/cgroup.controllers", text: controllers)
        try FixtureFile.write(path + "/cgroup.subtree_control", text: enabled)
        return path
    }

    static func contents(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test func aControllerOfferedButNotEnabledIsEnabledInSubtreeControl() throws {
        let parent = try Self.fakeCgroup(controllers: "cpu io memory pids\n", enabled: "cpu\n")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        try VMCgroup.enableControllers(for: CgroupLimits(memoryBytes: 256 << 20), parentFD: FileDescriptor(rawValue: fd), parentDirectory: parent)
        // cgroupfs takes one `+controller` per write; a plain file keeps the last one.
        #expect(Self.contents(parent + "/cgroup.subtree_control") == "+memory")
    }

    @Test func anAlreadyEnabledControllerIsLeftAlone() throws {
        let parent = try Self.fakeCgroup(controllers: "memory pids\n", enabled: "memory pids\n")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        try VMCgroup.enableControllers(for: CgroupLimits(memoryBytes: 1 << 30, pids: 64), parentFD: FileDescriptor(rawValue: fd), parentDirectory: parent)
        #expect(Self.contents(parent + "/cgroup.subtree_control") == "memory pids\n")
    }

    @Test func aControllerNotOfferedIsRefusedNamingItAndNothingIsWritten() throws {
        let parent = try Self.fakeCgroup(controllers: "hugetlb\n", enabled: "")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        do {
            try VMCgroup.enableControllers(for: CgroupLimits(pids: 64), parentFD: FileDescriptor(rawValue: fd), parentDirectory: parent)
            Issue.record("pids enabled where it is not offered")
        } catch {
            #expect(error.item == "--pids-limit")
            #expect(error.reason.contains("pids controller is not offered in \(parent)/cgroup.controllers"), "\(error)")
        }
        #expect(Self.contents(parent + "/cgroup.subtree_control") == "")
    }

    @Test func limitsAreWrittenAsBytesAndCountsToTheirFiles() throws {
        let cgroup = try Self.fakeCgroup(controllers: "", enabled: "")
        defer { try? FileManager.default.removeItem(atPath: cgroup) }
        try FixtureFile.write(cgroup + "/memory.max", text: "max\n")
        try FixtureFile.write(cgroup + "/pids.max", text: "max\n")
        let fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        let limits = CgroupLimits(memoryBytes: try CgroupLimits.memory("256M"), pids: try CgroupLimits.pids("64"))
        try VMCgroup.writeLimits(limits, cgroupFD: FileDescriptor(rawValue: fd), directory: cgroup)
        #expect(Self.contents(cgroup + "/memory.max") == "268435456")
        #expect(Self.contents(cgroup + "/pids.max") == "64")
        // `bulkhead status` reads them back from the same files.
        let hierarchy = CgroupHierarchy(mountPoint: (cgroup as NSString).deletingLastPathComponent)
        #expect(try hierarchy.limit(.memory, ofCgroup: cgroup).get() == "268435456")
        #expect(try hierarchy.limit(.pids, ofCgroup: cgroup).get() == "64")
    }

    @Test func aMissingLimitFileIsAnErrorNamingTheFileNotACreatedFile() throws {
        let cgroup = try Self.fakeCgroup(controllers: "", enabled: "")
        defer { try? FileManager.default.removeItem(atPath: cgroup) }
        let fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        do {
            try VMCgroup.writeLimits(CgroupLimits(pids: 64), cgroupFD: FileDescriptor(rawValue: fd), directory: cgroup)
            Issue.record("wrote pids.max where the controller gave none")
        } catch {
            #expect(error.description.contains("\(cgroup)/pids.max"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: cgroup + "/pids.max"))
    }

    @Test func aVMCgroupThatCannotBeCompletedLeavesOnlyTheBulkheadLevel() throws {
        // In a plain directory mkdir gives no cgroup.procs: creation must fail and undo itself.
        let own = try Self.fakeCgroup(controllers: "memory\n", enabled: "memory\n")
        defer { try? FileManager.default.removeItem(atPath: own) }
        #expect(throws: ConfigurationError.self) { try VMCgroup(under: own, vmName: "t", limits: CgroupLimits()) }
        #expect(FileManager.default.fileExists(atPath: own + "/bulkhead"))
        #expect(!FileManager.default.fileExists(atPath: VMCgroup.directory(of: "t", under: own)))
    }

    @Test func aBulkheadLevelOthersMayWriteIsNotUsed() throws {
        let own = try Self.fakeCgroup(controllers: "", enabled: "")
        defer { try? FileManager.default.removeItem(atPath: own) }
        try FileManager.default.createDirectory(atPath: own + "/bulkhead", withIntermediateDirectories: false)
        chmod(own + "/bulkhead", 0o777)
        do {
            _ = try VMCgroup(under: own, vmName: "t", limits: CgroupLimits())
            Issue.record("used a world-writable bulkhead level")
        } catch {
            #expect(error.reason.contains("writable by others"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: VMCgroup.directory(of: "t", under: own)))
    }

    @Test func theRefusalNamesTheControllerTheHierarchyAndWhatItHas() throws {
        let root = try Self.fakeCgroup(controllers: "hugetlb\n", enabled: "")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let hierarchy = CgroupHierarchy(mountPoint: root)
        let refusal = CgroupHierarchy.refusal(of: .memory, hierarchy: hierarchy, parentPath: "/", mountInfo: CgroupParsingTests.hybrid)
        #expect(
            refusal?.description
                == "--memory-limit: the memory controller is not available in the cgroup v2 hierarchy at \(root) (it has: hugetlb); this host binds it to cgroup v1, which bulkhead does not manage")
        let none = CgroupHierarchy.refusal(of: .pids, hierarchy: nil, parentPath: "/")
        #expect(none?.description.hasPrefix("--pids-limit: no cgroup v2 hierarchy is mounted") == true)
        // Offered: no refusal.
        let full = try Self.fakeCgroup(controllers: "cpu memory pids\n", enabled: "")
        defer { try? FileManager.default.removeItem(atPath: full) }
        #expect(CgroupHierarchy.refusal(of: .memory, hierarchy: CgroupHierarchy(mountPoint: full), parentPath: "/") == nil)
        #expect(CgroupHierarchy.refusal(of: .pids, hierarchy: CgroupHierarchy(mountPoint: full), parentPath: "/") == nil)
    }
}
