// `bulkhead-protocol-bench [--iterations N] [--rounds R] [--cpu C | --cross-cpu]`
// One fd round trip five ways, in one run, with the same CPU pinning for all:
//   raw      SEQPACKET ping-pong, the server sends the same fd in SCM_RIGHTS each time;
//   raw+dup  the same, but the server dups the fd and closes it after sending
//            (the syscalls RequestServer makes for a handler's fd);
//   raw+open the same, but the server opens the declared file from its directory per request
//            (openat, fstat, close after sending): the kernel's part of what the helper does;
//   protocol block.open through RequestClient → RequestServer, reply + 1 fd;
//   helper   block.open through the real, confined `bulkhead-block` process (beside this
//            bench): the open of the last component from its held directory, fstat and
//            identity check included. Skipped (and said so)
//            if that executable is not there.
// The client closes each received fd. Rounds alternate them and report medians.
import BulkheadProtocol
import Glibc
import SystemPackage

/// What the command line asked for.
struct Settings {
    var iterations = 20_000
    var rounds = 5
    var clientCPU = 0
    var serverCPU = 0

    static func parse(_ args: [String]) -> Settings {
        var settings = Settings()
        var arguments = args.makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--iterations": settings.iterations = arguments.next().flatMap { Int($0) } ?? settings.iterations
            case "--rounds": settings.rounds = arguments.next().flatMap { Int($0) } ?? settings.rounds
            case "--cpu":
                settings.clientCPU = arguments.next().flatMap { Int($0) } ?? 0
                settings.serverCPU = settings.clientCPU
            case "--cross-cpu": (settings.clientCPU, settings.serverCPU) = (0, 1)
            default:
                print("usage: bulkhead-protocol-bench [--iterations N] [--rounds R] [--cpu C | --cross-cpu]")
                exit(2)
            }
        }
        return settings
    }
}

let settings = Settings.parse(Array(CommandLine.arguments.dropFirst()))
let iterations = settings.iterations
let rounds = settings.rounds
let clientCPU = settings.clientCPU
let serverCPU = settings.serverCPU

guard let payloadFD = try? FileDescriptor.open("/dev/null", .readOnly, options: .closeOnExec) else {
    fatalError("cannot open /dev/null")
}

/// Microseconds per round trip of `roundTrip`, after a warm-up.
func measure(_ roundTrip: () throws -> Void) rethrows -> Double {
    for _ in 0..<min(1000, iterations) { try roundTrip() }
    let start = monotonicNanoseconds()
    for _ in 0..<iterations { try roundTrip() }
    return Double(monotonicNanoseconds() - start) / Double(iterations) / 1000
}

func rawRound(dupEach: Bool) throws -> Double {
    pin(toCPU: serverCPU)
    let (client, pid) = BenchServer.spawn { BenchServer.raw($0, fd: payloadFD, dupEach: dupEach) }
    pin(toCPU: clientCPU)
    defer { BenchServer.finish(client, pid) }
    return try measure {
        try client.send([0])
        var got = try client.receive()
        guard got.fds.count == 1 else { fatalError("raw reply without its fd") }
        got.closeFDs()
    }
}

func rawOpenRound() throws -> Double {
    RealBlockHelper.createDisk()
    let slash = RealBlockHelper.diskPath.lastIndex(of: "/")!
    let directory = try FileDescriptor.open(
        String(RealBlockHelper.diskPath[..<slash]), .readOnly, options: [.directory, .closeOnExec])
    let name = String(RealBlockHelper.diskPath[RealBlockHelper.diskPath.index(after: slash)...])
    pin(toCPU: serverCPU)
    let (client, pid) = BenchServer.spawn { BenchServer.rawOpen($0, directory: directory, name: name) }
    pin(toCPU: clientCPU)
    defer {
        BenchServer.finish(client, pid)
        try? directory.close()
    }
    return try measure {
        try client.send([0])
        var got = try client.receive()
        guard got.fds.count == 1 else { fatalError("raw reply without its fd") }
        got.closeFDs()
    }
}

func protocolRound() throws -> Double {
    pin(toCPU: serverCPU)
    let (client, pid) = BenchServer.spawn { BenchServer.protocolLoop($0, fd: payloadFD) }
    pin(toCPU: clientCPU)
    defer { BenchServer.finish(client, pid) }
    let requests = RequestClient(socket: client)
    _ = try requests.hello()
    let request = BlockOpenRequest(path: "/var/lib/bulkhead/disk.img", access: .readOnly)
    return try measure {
        let response = try requests.call(request)
        for fd in response.fds { try fd.close() }
    }
}

func realHelperRound(_ program: String) throws -> Double {
    pin(toCPU: serverCPU)
    let (client, pid) = RealBlockHelper.spawn(program)
    pin(toCPU: clientCPU)
    defer { BenchServer.finish(client, pid) }
    let requests = RequestClient(socket: client)
    _ = try requests.hello()
    let request = BlockOpenRequest(path: RealBlockHelper.diskPath, access: .readOnly)
    return try measure {
        let response = try requests.call(request)
        for fd in response.fds { try fd.close() }
    }
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

var raw: [Double] = []
var rawDup: [Double] = []
var rawOpen: [Double] = []
var viaProtocol: [Double] = []
var viaHelper: [Double] = []
let helperProgram = RealBlockHelper.executable
do {
    for _ in 0..<rounds {
        raw.append(try rawRound(dupEach: false))
        rawOpen.append(try rawOpenRound())
        rawDup.append(try rawRound(dupEach: true))
        viaProtocol.append(try protocolRound())
        if let helperProgram { viaHelper.append(try realHelperRound(helperProgram)) }
    }
} catch {
    print("bench failed: \(error)")
    exit(1)
}

func format(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

let pinning = clientCPU == serverCPU ? "both on CPU \(clientCPU)" : "client CPU \(clientCPU), server CPU \(serverCPU)"
print("bulkhead-protocol-bench: \(iterations) round trips × \(rounds) rounds (median), \(pinning)")
print("  raw SEQPACKET ping-pong + 1 SCM_RIGHTS fd        \(format(median(raw))) µs")
print("  raw, server dup+close per fd (RequestServer's)   \(format(median(rawDup))) µs")
print("  raw, server openat+fstat+close per request       \(format(median(rawOpen))) µs"
    + "   (\(format(median(rawOpen) / median(raw)))× raw: the kernel's share of an open)")
print("  block.open via RequestClient/RequestServer + fd  \(format(median(viaProtocol))) µs"
    + "   (\(format(median(viaProtocol) / median(raw)))× raw)")
if viaHelper.isEmpty {
    print("  block.open via the real confined bulkhead-block  skipped: no bulkhead-block beside this bench")
} else {
    print("  block.open via the real confined bulkhead-block  \(format(median(viaHelper))) µs"
        + "   (\(format(median(viaHelper) / median(raw)))× raw)")
}
// For Benchmarks/report.py. Goals: the protocol's encoding and checks cost at most half a raw
// round trip more (measured 1.1-1.3x); so does the real confined helper (issue 15), which opens
// only the last component from the directory it holds since start-up (recvmsg, openat,
// newfstatat, sendmsg, close: 5 syscalls, against 9 when it walked the whole path per request,
// 2.06x). Measured 1.64-1.93x at load 5: the open alone (raw+open, no protocol) is 1.26-1.51x,
// so the goal leaves the helper's protocol and checks almost nothing.
print(resultLine("protocol.block-open.loop", median(viaProtocol), "µs", median(raw), "raw SEQPACKET + SCM_RIGHTS",
    "at most 1.5x raw", met: median(viaProtocol) <= 1.5 * median(raw)))
if !viaHelper.isEmpty {
    print(resultLine("protocol.block-open.helper", median(viaHelper), "µs", median(raw), "raw SEQPACKET + SCM_RIGHTS",
        "at most 1.5x raw", met: median(viaHelper) <= 1.5 * median(raw)))
}
unlink(RealBlockHelper.diskPath)

/// `RESULT name=… value=… unit=… reference=… refname="…" goal="…" met=yes|no`: one figure
/// for Benchmarks/report.py, which collects them into BENCHMARKS.md.
func resultLine(_ name: String, _ value: Double, _ unit: String, _ reference: Double, _ referenceName: String, _ goal: String, met: Bool)
    -> String
{
    "RESULT name=\(name) value=\(format(value)) unit=\(unit) reference=\(format(reference)) refname=\"\(referenceName)\" "
        + "goal=\"\(goal)\" met=\(met ? "yes" : "no")"
}
