import Foundation
import ProcessInspection
import Testing

/// /proc parsing in ProcessInspection: real kernel text, hostile text, and the test process itself.
struct TaskStatusParsingTests {
    static let sample = """
        Name:\tvcpu0
        Umask:\t0022
        State:\tS (sleeping)
        Uid:\t200000\t200000\t200000\t200000
        Gid:\t200000\t200000\t200000\t200000
        CapInh:\t0000000000000000
        CapPrm:\t0000000000001000
        CapEff:\t0000000000001000
        CapBnd:\t0000000000001000
        CapAmb:\t0000000000000000
        NoNewPrivs:\t1
        Seccomp:\t2
        Seccomp_filters:\t3
        """

    @Test func kernelStatusTextGivesEveryField() {
        let status = TaskStatus(parsing: Self.sample)
        #expect(status.name == "vcpu0")
        #expect(status.uids == [200000, 200000, 200000, 200000])
        #expect(status.capEff == 0x1000)
        #expect(Capability.decode(status.capBnd ?? 0) == ["cap_net_admin"])
        #expect(status.capInh == 0 && status.capAmb == 0)
        #expect(status.noNewPrivs == true)
        #expect(status.seccompMode == 2)
        #expect(status.seccompFilters == 3)
    }

    @Test(arguments: [
        "Uid:\t1\t2\t3", "Uid:\t-1\t0\t0\t0", "Uid:\tx\ty\tz\tw", "CapEff:\t00000000000010000", "CapEff:\tzzzzzzzzzzzzzzzz",
        "NoNewPrivs:\t2", "Seccomp:\t99999999999999999999", "Seccomp_filters:\t-1", "Seccomp:", ":", "CapEff", "",
        "Uid:\t4294967296\t0\t0\t0", "\u{0}\u{0}:\u{0}", String(repeating: "CapBnd:", count: 1000),
    ])
    func malformedLinesLeaveTheirFieldNilAndNeverTrap(line: String) {
        let status = TaskStatus(parsing: line)
        #expect(status.uids == nil)
        #expect(status.capEff == nil)
        #expect(status.capBnd == nil)
        #expect(status.capInh == nil && status.capAmb == nil)
        #expect(status.noNewPrivs == nil)
        #expect(status.seccompMode == nil)
        #expect(status.seccompFilters == nil)
    }

    @Test func aTruncatedFileKeepsWhatCameBeforeTheCut() {
        let cut = String(Self.sample.prefix(while: { $0 != "N" || true }).prefix(90))
        let status = TaskStatus(parsing: cut)
        #expect(status.name == "vcpu0")
        #expect(status.seccompFilters == nil)
    }

    @Test func limitsTextParsesNumbersAndUnlimited() {
        let text = """
            Limit                     Soft Limit           Hard Limit           Units     
            Max cpu time              unlimited            unlimited            seconds   
            Max file size             0                    0                    bytes     
            Max processes             5                    5                    processes 
            Max open files            256                  256                  files     
            Max core file size        0                    0                    bytes     
            Max garbage               x                    1                    files     
            short
            """
        let limits = ResourceLimit.parse(text)
        #expect(limits.map(\.name) == ["Max cpu time", "Max file size", "Max processes", "Max open files", "Max core file size"])
        #expect(limits[0].soft == nil && limits[0].hard == nil)
        #expect(limits[2] == ResourceLimit(name: "Max processes", soft: 5, hard: 5))
    }

    @Test func capabilitySummaryNamesNoneAllOrEachBit() {
        #expect(Capability.summary(0) == "none")
        #expect(Capability.summary(0x1_ffff_ffff_ff) == "all (41)")
        #expect(Capability.summary(0x1002) == "cap_dac_override,cap_net_admin")
        #expect(Capability.summary(1 << 63) == "cap_63")
    }

    @Test func theTestProcessItselfMatchesGetuidAndItsOwnThreads() throws {
        let snapshot = try #require(ProcessSnapshot(pid: getpid()))
        #expect(snapshot.threads.contains { $0.tid == getpid() })
        let main = try #require(snapshot.threads.first { $0.tid == getpid() })
        #expect(main.status.uids?.first == getuid())
        #expect(main.status.gids?.first == getgid())
        #expect(main.status.capEff != nil && main.status.seccompMode != nil && main.status.noNewPrivs != nil)
        // Same namespaces as PID 1 unless the tests themselves run in a container.
        #expect(snapshot.namespaces.map(\.kind).contains("mnt"))
        let files = try #require(snapshot.limit("Max open files"))
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        #expect(files.soft == UInt64(limit.rlim_cur))
    }
}
