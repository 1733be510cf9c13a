import Foundation
import Testing
import TestSupport

/// With the filters in `log` mode (insecure, test only: every forbidden call is let through
/// and recorded), what the guest can still not do through the escape probe is what the
/// uid, namespaces and limits stop on their own. Paths and sockaddrs reach the kernel as
/// pointer arguments (`str:`, `hex:`, `buf:`; Guest/README.md), checked against guest RAM.
@Suite(.serialized) struct EscapeUnderLogModeTests {
    static let ENOENT = -2, ENODEV = -19, EROFS = -30, EAFNOSUPPORT = -97, ENETUNREACH = -101

    /// Every `escape NAME on vcpu = RESULT` from the guest, in order.
    static func results(_ output: String, _ call: String) -> [Int] {
        output.split(separator: "\n").filter { $0.hasPrefix("escape \(call) on vcpu = ") }
            .compactMap { Int($0.split(separator: " ").last ?? "") }
    }

    static func result(_ output: String, _ call: String) -> Int? { results(output, call).first }

    /// The bytes the guest printed for pointer argument `argument` of each `call` (`escape NAME arg I: HEX`).
    static func bytes(_ output: String, _ call: String, argument: Int) -> [String] {
        let prefix = "escape \(call) arg \(argument): "
        return output.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    static func run(_ steps: String, memoryMiB: Int = 64) throws -> (status: Int32, output: String, errors: String) {
        try DefenseRun(
            name: DefenseRun.uniqueName("escape"),
            ["--allow-insecure", "--seccomp", "log", "--memory", "\(memoryMiB)", "--device", "escape-probe", "--cmdline", steps]
        ).finish()
    }

    @Test func workerCannotSeeOrSignalAHostProcess() throws {
        // The worker is PID 1 of its own PID namespace: pid 1 is itself, and a host pid (this
        // test process's) does not exist there (ESRCH, -3). Nor is there a /proc to look in:
        // without the empty root, /proc would open (the host's, or a fresh one showing the worker).
        let steps = "escape=kill,\(getpid()),0 escape=getpid escape=openat,-100,str:/proc,0x10000 poweroff"
        // The test of the test: a worker without the parent's defences sees this process and /proc.
        let reference = try DefenseRun.bareWorker(["--seccomp", "log", "--device", "escape-probe", "--cmdline", steps])
        #expect(reference.status == 0, "\(reference.errors)")
        #expect(Self.result(reference.output, "kill") == 0, "\(reference.output)")
        #expect((Self.result(reference.output, "openat") ?? -1) >= 0, "\(reference.output)")

        let run = try Self.run(steps)
        #expect(run.status == 0, "\(run.errors)")
        #expect(Self.result(run.output, "kill") == -3, "\(run.output)")
        #expect(Self.result(run.output, "getpid") == 1, "\(run.output)")
        #expect(Self.result(run.output, "openat") == Self.ENOENT, "\(run.output)")
    }

    @Test func workerCannotStartAProcess() throws {
        // fork under the filters in log mode reaches the kernel; RLIMIT_NPROC answers EAGAIN (-11).
        let run = try Self.run("escape=fork poweroff")
        #expect(run.status == 0, "\(run.errors)")
        #expect(Self.result(run.output, "fork") == -11, "\(run.output)")
    }

    @Test func workerCannotOpenAHostFile() throws {
        // A file made here on the host for this run: its absence in the worker cannot be an
        // accident of how this machine is set up.
        let hostFile = "/tmp/bulkhead-escape-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FixtureFile.write(hostFile, text: "host\n", mode: 0o644)
        defer { unlink(hostFile) }
        // Each path exists on the host and any uid may read it: the worker's own uid would not
        // stop the open, only its empty root does (pivot_root, old root detached).
        let paths = ["/etc/passwd", "/proc/1/status", hostFile]
        let opens = paths.map { "escape=openat,-100,str:\($0),0" }.joined(separator: " ")

        // The test of the test: the same requests from a worker without the parent's defences
        // (host root) open every file. With the root not pivoted, so would the real run.
        let reference = try DefenseRun.bareWorker(["--seccomp", "log", "--device", "escape-probe", "--cmdline", opens + " poweroff"])
        #expect(reference.status == 0, "\(reference.errors)")
        let referenceOpened = Self.results(reference.output, "openat")
        #expect(referenceOpened.count == 3 && referenceOpened.allSatisfy { $0 >= 0 }, "\(reference.output)")

        let run = try Self.run(
            opens
                // The aim is right: the path string reaches the kernel, which opens the root
                // (O_DIRECTORY) and lists it: "." and ".." only, 24 bytes each (nothing else).
                + " escape=openat,-100,str:/,0x10000 escape=getdents64,$4,buf:512,512"
                // Nor can it leave a file behind: O_CREAT|O_WRONLY in the read-only root, EROFS.
                + " escape=openat,-100,str:/\(hostFile.split(separator: "/").last!),0x41,0x1a4 poweroff")
        #expect(run.status == 0, "\(run.errors)")
        let opened = Self.results(run.output, "openat")
        #expect(opened.count == 5, "\(run.output)")
        #expect(Array(opened.prefix(3)) == [Self.ENOENT, Self.ENOENT, Self.ENOENT], "\(run.output)")
        #expect(opened.count > 3 && opened[3] >= 0, "the root did not open: \(run.output)")
        #expect(opened.last == Self.EROFS, "\(run.output)")
        #expect(Self.result(run.output, "getdents64") == 48, "\(run.output)")
        let listing = try #require(Self.bytes(run.output, "getdents64", argument: 1).first)
        #expect(listing.contains("2e00"))  // "." with its NUL: the buffer really is the kernel's answer
    }

    /// struct sockaddr_in for `hex:`: AF_INET (2, little-endian), port and address in network order, 8 zero bytes.
    static func sockaddrIn(_ address: [UInt8], port: UInt16) -> String {
        let bytes: [UInt8] = [2, 0, UInt8(port >> 8), UInt8(port & 0xFF)] + address + [UInt8](repeating: 0, count: 8)
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// struct ifreq for `hex:`: the name, NUL-padded to IFNAMSIZ (16), then the 24-byte union.
    static func ifreq(_ name: String) -> String {
        let bytes = Array(name.utf8) + [UInt8](repeating: 0, count: 40 - name.utf8.count)
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The interface of the host's default route, else its first interface other than lo.
    static func hostInterface() -> String? {
        let routes = (try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)) ?? ""
        let fields = routes.split(separator: "\n").map { $0.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) } }
        if let route = fields.first(where: { $0.count > 1 && $0[1] == "00000000" }) { return route[0] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []
        return names.filter { $0 != "lo" }.sorted().first
    }

    @Test func workerCannotReachANetwork() throws {
        let outside: [UInt8] = [1, 1, 1, 1], loopback: [UInt8] = [127, 0, 0, 1]
        let interface = try #require(Self.hostInterface(), "the host has no interface besides lo")
        let socket = "escape=socket,2,2,0"  // $1: socket(AF_INET, SOCK_DGRAM): log mode lets it through
        let connectOutside = "escape=connect,$1,hex:\(Self.sockaddrIn(outside, port: 53)),16"
        let connectLoopback = "escape=connect,$1,hex:\(Self.sockaddrIn(loopback, port: 53)),16"
        let hostInterfaceIndex = "escape=ioctl,$1,0x8933,hex:\(Self.ifreq(interface))"  // SIOCGIFINDEX

        // The test of the test: in the host's network namespace (a worker without the parent's
        // defences) the same requests reach 1.1.1.1 and find the host's interface. A UDP
        // connect sends nothing: it only picks the route.
        let reference = try DefenseRun.bareWorker(
            ["--seccomp", "log", "--device", "escape-probe", "--cmdline", [socket, connectOutside, connectLoopback, hostInterfaceIndex, "poweroff"].joined(separator: " ")])
        #expect(reference.status == 0, "\(reference.errors)")
        #expect(Self.results(reference.output, "connect") == [0, 0], "the host has no route to 1.1.1.1: \(reference.output)")
        #expect(Self.result(reference.output, "ioctl") == 0, "\(reference.output)")

        let steps = [
            socket, connectOutside,
            "escape=sendto,$1,str:x,1,0,hex:\(Self.sockaddrIn(outside, port: 53)),16",
            connectLoopback,  // lo exists but is down: not even loopback is reachable
            // The aim is right: the kernel reads the very bytes. The same sockaddr with its
            // family byte changed to AF_INET6 (10) gets EAFNOSUPPORT from an AF_INET socket.
            "escape=connect,$1,hex:0a\(Self.sockaddrIn(outside, port: 53).dropFirst(2)),16",
            // The host's interface is not there; lo is, as index 1.
            hostInterfaceIndex, "escape=ioctl,$1,0x8933,hex:\(Self.ifreq("lo"))",
            "poweroff",
        ]
        let run = try Self.run(steps.joined(separator: " "))
        #expect(run.status == 0, "\(run.errors)")
        let fd = try #require(Self.result(run.output, "socket"), "\(run.output)")
        #expect(fd >= 0, "socket(AF_INET, SOCK_DGRAM) failed: \(run.output)")
        #expect(Self.results(run.output, "connect") == [Self.ENETUNREACH, Self.ENETUNREACH, Self.EAFNOSUPPORT], "\(run.output)")
        #expect(Self.result(run.output, "sendto") == Self.ENETUNREACH, "\(run.output)")
        #expect(Self.results(run.output, "ioctl") == [Self.ENODEV, 0], "\(run.output)")
        // ifr_ifindex (offset 16) of lo's answer: 1, written by the kernel into guest memory.
        let lo = try #require(Self.bytes(run.output, "ioctl", argument: 2).last)
        #expect(lo.hasPrefix("6c6f" + String(repeating: "0", count: 28) + "01000000"), "\(lo)")
    }

    @Test func hostilePointersAreRefusedAndTheGuestCarriesOn() throws {
        // 64 MiB of guest RAM: [0, 0x4000000). Each refused request made no syscall: had the
        // worker passed the address on, openat would answer (EFAULT -14, ENOENT, ...) with
        // `= RESULT`, reading host memory past the mapping, or the worker would crash.
        let steps = [
            "escape=openat,-100,ptr:0x4000000:1,0",  // the first byte after RAM
            "escape=openat,-100,strptr:0x3ffffff:2,0",  // the last byte of RAM and one more
            "escape=openat,-100,ptr:0x1000:0xfffffffffffff001,0",  // 0x1000 + length wraps to 1
            "escape=openat,-100,ptr:0xffffffffffffffff:2,0",  // the address wraps
            "escape=openat,-100,ptr:0x1000:0,0",  // empty: says nothing about what the kernel reads
            "escape=openat,-100,ptr:0xd0000000:8,0",  // the virtio window: not RAM
            "escape=openat,-100,strptr:0x5100:6,0",  // the command line, "escape": no NUL in it
            // The edge that is allowed: the last byte of RAM (zero) is an empty path, ENOENT.
            "escape=openat,-100,strptr:0x3ffffff:1,0",
            "escape=getpid", "banner", "poweroff",
        ]
        let run = try Self.run(steps.joined(separator: " "), memoryMiB: 64)
        #expect(run.status == 0, "\(run.errors)")
        let refusals = run.output.split(separator: "\n").filter { $0.contains(" refused: ") }
        #expect(refusals == Array(repeating: "escape openat on vcpu refused: argument 1 is not inside guest RAM", count: 6)
            + ["escape openat on vcpu refused: argument 1 has no NUL inside its length"], "\(run.output)")
        #expect(Self.results(run.output, "openat") == [Self.ENOENT], "\(run.output)")
        #expect(Self.result(run.output, "getpid") == 1, "\(run.output)")
        #expect(run.output.contains("bulkhead test guest: 1 vcpu"), "\(run.output)")
    }
}
