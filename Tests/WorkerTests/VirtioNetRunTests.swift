import Foundation
import Testing

/// virtio-net through the real worker: a real tap (created here, moved with its address
/// into a network namespace created here) whose fd the worker's io thread drives.
/// Every run removes the namespace and the tap, also when it fails.
@Suite(.serialized) struct VirtioNetRunTests {
    /// A tap `bhvnN` attached to an fd (IFF_TAP|IFF_NO_PI, non-blocking, as the net helper
    /// opens it), then moved into namespace `bhvtestN` with 10.0.2.2/24.
    final class NamespacedTap {
        let name: String, namespace: String
        let fd: Int32

        init() throws {
            let n = Int(getpid() % 1000) * 10 + Int.random(in: 0...9)
            name = "bhvn\(n)"
            namespace = "bhvtest\(n)"
            try Self.sh("ip tuntap add dev \(name) mode tap && ip netns add \(namespace)")
            let tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)
            var request = [UInt8](repeating: 0, count: 40)  // struct ifreq
            for (i, b) in name.utf8.enumerated() { request[i] = b }
            request[16] = 0x02  // IFF_TAP
            request[17] = 0x10  // IFF_NO_PI (0x1000)
            let attached = request.withUnsafeMutableBytes { ioctl(tun, UInt(0x4004_54CA) /* TUNSETIFF */, $0.baseAddress!) }
            guard tun >= 0, attached == 0 else {
                Self.cleanUp(name: name, namespace: namespace)
                throw Failure("cannot attach to tap \(name): errno \(errno)")
            }
            fd = fcntl(tun, F_DUPFD_CLOEXEC, 100)
            close(tun)
            do {
                try Self.sh("""
                    ip link set \(name) netns \(namespace) && ip -n \(namespace) addr add 10.0.2.2/24 dev \(name) \
                    && ip -n \(namespace) link set \(name) up && ip -n \(namespace) link set lo up
                    """)
            } catch {
                close(fd)
                Self.cleanUp(name: name, namespace: namespace)
                throw error
            }
        }

        deinit {
            close(fd)
            Self.cleanUp(name: name, namespace: namespace)
        }

        static func cleanUp(name: String, namespace: String) {
            _ = try? sh("ip -n \(namespace) link del \(name) 2>/dev/null; ip link del \(name) 2>/dev/null; ip netns del \(namespace) 2>/dev/null; true")
        }

        @discardableResult
        static func sh(_ command: String) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", command]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw Failure("\(command): exit \(p.terminationStatus)") }
            return text
        }
    }

    static func linkExists(_ name: String) -> Bool { access("/sys/class/net/\(name)", F_OK) == 0 }

    @Test func guestAnswersARPAndGetsICMPEchoRepliesFromTheHostSide() throws {
        let name: String
        do {
            let tap = try NamespacedTap()
            name = tap.name
            let run = try WorkerRun.run(["--tap-fd", "5", "--cmdline", "net-ping=10.0.2.2"], passing: [5: tap.fd])
            #expect(run.ending == .exited(0), "\(run.output)\(run.errors)")
            #expect(run.lines.filter { $0.hasPrefix("net reply from 10.0.2.2: seq=") }.count == 3)
            #expect(run.lines.last == "net-ping 10.0.2.2: 3 sent, 3 received")
            // The host learned the guest's MAC from its ARP exchange (default 52:54:00:12:34:56).
            let neighbours = try NamespacedTap.sh("ip -n \(tap.namespace) neigh show dev \(tap.name)")
            #expect(neighbours.contains("10.0.2.15 lladdr 52:54:00:12:34:56"), "\(neighbours)")
        }
        #expect(!Self.linkExists(name), "the tap is removed")
    }

    @Test func guestEchoesTheDatagramsTheHostSends() throws {
        let tap = try NamespacedTap()
        // Host side, inside the namespace: UDP datagrams to the guest until 5 echoes came back.
        let sender = Process()
        sender.executableURL = URL(fileURLWithPath: "/bin/sh")
        sender.arguments = ["-c", """
            exec ip netns exec \(tap.namespace) python3 -c '
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.3)
            got = 0; deadline = time.time() + 20; i = 0
            while got < 5 and time.time() < deadline:
                i += 1; s.sendto(b"bulkhead %d" % i, ("10.0.2.15", 7))
                try:
                    data, peer = s.recvfrom(2048)
                    if data.startswith(b"bulkhead ") and peer == ("10.0.2.15", 7): got += 1
                except socket.timeout: pass
            print("echoes", got)'
            """]
        let out = Pipe()
        sender.standardOutput = out
        try sender.run()
        let run = try WorkerRun.run(["--tap-fd", "5,mac=52:54:00:ab:cd:ef", "--cmdline", "net-echo=5"], passing: [5: tap.fd])
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sender.waitUntilExit()
        #expect(run.ending == .exited(0), "\(run.output)\(run.errors)")
        #expect(run.lines.last == "net-echo: answered 5 frames")
        #expect(printed.contains("echoes 5"), "\(printed)")
        let neighbours = try NamespacedTap.sh("ip -n \(tap.namespace) neigh show dev \(tap.name)")
        #expect(neighbours.contains("52:54:00:ab:cd:ef"), "\(neighbours)")
    }

    @Test(arguments: ["5,mac=01:00:00:00:00:01", "5,mac=52:54:00", "5,speed=10"])
    func malformedTapOptionIsAUsageError(option: String) throws {
        let run = try WorkerRun.run(["--tap-fd", option])
        #expect(run.ending == .exited(64), "\(run.errors)")
    }
}
