import BulkheadProtocol
import Foundation
import Glibc
import SystemPackage
import Testing
import Vocabulary

/// Link targets of this process's open fds, read from /proc/self/fd.
func openFDTargets() -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
}

/// How many entries of /proc/self/fd point at one of `targets`. Counting the test's own
/// objects (not every fd) keeps the check exact while other suites run in parallel.
func openFDCount(of targets: Set<String>) -> Int { openFDTargets().filter(targets.contains).count }

func linkTarget(_ fd: FileDescriptor) -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd.rawValue)")) ?? "?"
}

/// A pipe whose fds are sent as payload: every copy in this process shows as `pipe:[inode]`.
struct MarkerPipe {
    let read: FileDescriptor
    let write: FileDescriptor

    init() {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0)
        read = FileDescriptor(rawValue: fds[0])
        write = FileDescriptor(rawValue: fds[1])
    }

    var target: String { linkTarget(read) }

    func close() {
        try? read.close()
        try? write.close()
    }
}

/// Runs `body` with a connected socket pair and a marker pipe, then closes all three and
/// checks that no fd pointing at any of them is left anywhere in this process.
func expectNoLeak(
    _ body: (_ client: SeqPacketSocket, _ server: SeqPacketSocket, _ marker: MarkerPipe) throws -> Void,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let (client, server) = try SeqPacketSocket.pair()
    let marker = MarkerPipe()
    let targets: Set<String> = [linkTarget(client.fileDescriptor), linkTarget(server.fileDescriptor), marker.target]
    #expect(openFDCount(of: targets) == 4, "before: two socket ends and two pipe ends", sourceLocation: sourceLocation)
    try body(client, server, marker)
    // The body may have closed the client already (a hang-up); closing the number again
    // could close a parallel test's fd, so close only what still points at our objects.
    for (fd, target) in [client.fileDescriptor, server.fileDescriptor, marker.read, marker.write].map({ ($0, linkTarget($0)) })
    where targets.contains(target) {
        try? fd.close()
    }
    #expect(openFDCount(of: targets) == 0, "after: nothing of this test is open", sourceLocation: sourceLocation)
}

/// A RequestServer serving on its own thread; `finish()` waits for `serve` to return.
final class ServerThread: @unchecked Sendable {
    private var end: RequestServer.End?
    private let done = DispatchSemaphore(value: 0)

    init(
        socket: SeqPacketSocket, helper: HelperKind = .block, deniedGroups: Set<FeatureGroup> = [.testOnly],
        handler: @escaping @Sendable (IncomingRequest) throws -> Reply = { _ in throw Refusal("no handler") },
        prepare: @escaping @Sendable () -> Void = {}
    ) {
        let thread = Thread { [self] in
            prepare()
            let server = RequestServer(socket: socket, helper: helper, name: "bulkhead-test", deniedGroups: deniedGroups)
            end = server.serve(handler)
            done.signal()
        }
        thread.start()
    }

    /// Waits (at most 10 s) for the loop to end and returns why it ended.
    func finish() -> RequestServer.End? {
        guard done.wait(timeout: .now() + 10) == .success else { return nil }
        return end
    }
}

/// One raw datagram: a header with every field settable, then `body`.
func rawDatagram(
    magic: UInt32 = 0x4B4C_4842, version: UInt16 = 1, kind: UInt8 = 1, fdCount: UInt8 = 0, requestID: UInt32 = 9,
    commandID: UInt16 = 2, reserved1: UInt16 = 0, bodyLength: UInt32? = nil, reserved2: UInt32 = 0, body: [UInt8] = []
) -> [UInt8] {
    var out: [UInt8] = []
    func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    le(magic)
    le(version)
    out.append(kind)
    out.append(fdCount)
    le(requestID)
    le(commandID)
    le(reserved1)
    le(bodyLength ?? UInt32(body.count))
    le(reserved2)
    return out + body
}

/// The next datagram on `socket` read as an error reply: (header, code).
func receiveError(on socket: SeqPacketSocket) throws -> (header: MessageHeader, error: ErrorReply, fds: Int) {
    try socket.setReceiveTimeout(microseconds: 5_000_000)
    var datagram = try socket.receive()
    defer { datagram.closeFDs() }
    let header = try MessageHeader.decode(datagram.bytes)
    let error = try ErrorReply.decode(Array(datagram.bytes[ProtocolLimits.headerSize...]))
    return (header, error, datagram.fds.count)
}
