import Cgroup
import Testing
import Vocabulary

/// Where the v2 hierarchy is, which cgroup a process is in, and what `--memory-limit` and
/// `--pids-limit` accept: parsed from texts laid out as the kernel writes them.
@Suite struct CgroupParsingTests {
    /// This build machine: v1 controllers beside the unified hierarchy (trimmed /proc/self/mountinfo).
    static let hybrid = """
        31 24 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
        32 31 0:28 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu
        36 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """
    /// A pure-v2 host (Debian 12).
    static let pure = """
        25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        28 25 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        """

    @Test func theHybridHostsUnifiedHierarchyIsFound() {
        #expect(CgroupHierarchy.find(inMountInfo: Self.hybrid)?.mountPoint == "/sys/fs/cgroup/unified")
    }

    @Test func aPureV2HostsHierarchyIsSysFsCgroup() {
        #expect(CgroupHierarchy.find(inMountInfo: Self.pure)?.mountPoint == "/sys/fs/cgroup")
        // Both mounted: /sys/fs/cgroup wins, whatever the order.
        let both = Self.hybrid + "\n" + "50 24 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
        #expect(CgroupHierarchy.find(inMountInfo: both)?.mountPoint == "/sys/fs/cgroup")
    }

    @Test func noCgroup2MountOrOnlyABindMountedSubtreeIsNoHierarchy() {
        let v1Only = Self.hybrid.split(separator: "\n").filter { !$0.contains("cgroup2") }.joined(separator: "\n")
        #expect(CgroupHierarchy.find(inMountInfo: v1Only) == nil)
        #expect(CgroupHierarchy.find(inMountInfo: "60 24 0:38 /some/sub /mnt/cg rw - cgroup2 cgroup2 rw") == nil)
        #expect(CgroupHierarchy.find(inMountInfo: "garbage\n- - -\n") == nil)
    }

    @Test func anEscapedMountPointIsUnescaped() {
        let text = "60 24 0:38 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw"
        #expect(CgroupHierarchy.find(inMountInfo: text)?.mountPoint == "/mnt/my cgroups")
    }

    @Test func v1BindingIsReadFromTheV1MountsOptions() {
        #expect(CgroupHierarchy.boundToV1("memory", mountInfo: Self.hybrid))
        #expect(CgroupHierarchy.boundToV1("pids", mountInfo: Self.hybrid))
        #expect(!CgroupHierarchy.boundToV1("hugetlb", mountInfo: Self.hybrid))
        #expect(!CgroupHierarchy.boundToV1("memory", mountInfo: Self.pure))
    }

    @Test func theV2CgroupIsTheZeroLine() {
        let hybrid = "9:name=systemd:/\n4:memory:/process_api/d53\n0::/bulkhead/vm-a\n"
        #expect(CgroupHierarchy.v2Path(inProcCgroup: hybrid) == "/bulkhead/vm-a")
        #expect(CgroupHierarchy.v2Path(inProcCgroup: "0::/\n") == "/")
        #expect(CgroupHierarchy.v2Path(inProcCgroup: "4:memory:/x\n") == nil)
        #expect(CgroupHierarchy.v2Path(inProcCgroup: "0::relative\n") == nil)
        #expect(CgroupHierarchy(mountPoint: "/sys/fs/cgroup").directory(of: "/") == "/sys/fs/cgroup")
        #expect(CgroupHierarchy(mountPoint: "/sys/fs/cgroup").directory(of: "/a.slice") == "/sys/fs/cgroup/a.slice")
    }

    @Test func memorySizesTakeBinarySuffixes() throws {
        #expect(try CgroupLimits.memory("256M") == 256 << 20)
        #expect(try CgroupLimits.memory("256MiB") == 256 << 20)
        #expect(try CgroupLimits.memory("256mb") == 256 << 20)
        #expect(try CgroupLimits.memory("2G") == 2 << 30)
        #expect(try CgroupLimits.memory("1t") == 1 << 40)
        #expect(try CgroupLimits.memory("8192K") == 8 << 20)
        #expect(try CgroupLimits.memory("4194304") == 4 << 20)
    }

    @Test func malformedOrOutOfRangeSizesAreRefusedNamingTheOption() {
        for bad in ["", "M", "12Q", "-1G", "1.5G", " 1G", "1G ", "0x10M", "iB", "B", "99999999999999999999", "1M", "4194303", "2P", "16777216T"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try CgroupLimits.memory(bad) }
            #expect((try? CgroupLimits.memory(bad)) == nil)
            do { _ = try CgroupLimits.memory(bad) } catch { #expect(error.item == "--memory-limit \(bad)") }
        }
    }

    @Test func pidsAreAWholeNumberInRange() throws {
        #expect(try CgroupLimits.pids("64") == 64)
        #expect(try CgroupLimits.pids("4194304") == 4_194_304)
        for bad in ["", "0", "-1", "+5", "4194305", "1e3", "64 ", "max"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try CgroupLimits.pids(bad) }
        }
    }
}
