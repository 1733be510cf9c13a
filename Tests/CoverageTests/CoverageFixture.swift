import Foundation
import TestSupport

/// What the scenarios declare, made for one coverage run and removed after it: a disk image
/// the helper user may write, a hook script, and a tap named for this process (taps are
/// host-wide, so the name and the subnet carry the pid: parallel suites do not meet).
final class CoverageFixture {
    let directory: String
    let disk: String
    let hook: String
    let tap: String
    /// 10.77.N.1/24 on the host's side of the tap, the guest at .2.
    let subnet: Int

    init() throws {
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        directory = "/tmp/bulkhead-coverage-\(tag)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        chmod(directory, 0o711)  // the helper user reaches the files by name only
        // Written through O_CLOEXEC fds (FixtureFile): a child another suite spawns meanwhile
        // cannot keep the hook open for writing (execve would fail with ETXTBSY).
        disk = try HelperUserFiles.create("\(directory)/disk.img", contents: Data(count: 1 << 20))
        hook = try FixtureFile.write("\(directory)/hook.sh", text: "#!/bin/sh\necho \"hook $*\"\n", mode: 0o755)
        tap = "bhcov\(getpid() % 1_000_000)"
        subnet = Int(getpid() % 200) + 20
        _ = shell("ip tuntap del dev \(tap) mode tap 2>/dev/null")
        guard shell("ip tuntap add dev \(tap) mode tap && ip addr add 10.77.\(subnet).1/24 dev \(tap) && ip link set \(tap) up") == 0
        else { throw CoverageError("cannot make the tap \(tap)") }
    }

    deinit {
        _ = shell("ip tuntap del dev \(tap) mode tap")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `arguments` with the placeholders of CoverageScenario filled in.
    func fill(_ arguments: [String]) -> [String] {
        arguments.map {
            $0.replacingOccurrences(of: "{disk}", with: disk)
                .replacingOccurrences(of: "{hook}", with: hook)
                .replacingOccurrences(of: "{tap}", with: tap)
                .replacingOccurrences(of: "{net}", with: "net-ip=10.77.\(subnet).2 net-ping=10.77.\(subnet).1")
        }
    }
}

struct CoverageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
