import BulkheadProtocol
import Foundation
import Sandbox
import SystemPackage
import Testing

/// fds handed from the test to a server thread.
final class FDStack: @unchecked Sendable {
    private var fds: [FileDescriptor]
    private let lock = NSLock()
    init(_ fds: [FileDescriptor]) { self.fds = fds }
    func pop() -> FileDescriptor? { lock.withLock { fds.popLast() } }
}

/// The request loop needs nothing a confined helper may not do: a server thread loads the
/// shared `helper-runtime` profile (recvmsg, sendmsg, write, close, brk, exit_group) in kill
/// mode, plus what a thread of the multi-threaded test process needs and a single-threaded
/// helper does not, then serves good and hostile requests. Any other call would kill the
/// whole test process with SIGSYS.
@Suite struct ConfinedServerTests {
    /// `helper-runtime` plus only what ending a secondary thread takes in glibc; a real
    /// helper is single-threaded and exits with exit_group, which the profile allows.
    static let serverThreadProfile = Profile(
        name: "protocol-server-test-thread",
        summary: "helper-runtime, plus what a thread of the test process takes",
        includes: [.helperRuntime],
        rules: [
            .allow("exit", because: "the test thread ends (a helper calls exit_group)"),
            .allow("madvise", because: "glibc releases the ended thread's stack"),
            .allow("rt_sigprocmask", because: "glibc blocks signals while a thread ends"),
            .allow(
                "mprotect", where: .arg(2, hasNoneOf: KernelConstant.protExec),
                because: "a secondary thread's malloc arena grows with mprotect; helpers use brk"),
            .allow(
                "mmap", where: .arg(2, hasNoneOf: KernelConstant.protExec),
                because: "a secondary thread's malloc arena is mapped; helpers use brk"),
            .allow("munmap", because: "a secondary thread's arena gives memory back"),
            .allow("futex", because: "locks the test runner's other threads contend for"),
        ])

    @Test func requestLoopServesUnderTheHelperRuntimeProfile() throws {
        try expectNoLeak { client, server, marker in
            // The handler hands out fds opened before confinement (dup is not in the profile).
            let prepared = FDStack(try (0..<50).map { _ in try marker.read.duplicate() })
            let thread = ServerThread(socket: server, helper: .block, deniedGroups: []) { request in
                _ = try request.decode(BlockOpenRequest.self)
                guard let fd = prepared.pop() else { throw Refusal("out of prepared fds") }
                return Reply(BlockOpenReply(size: 1, access: .readOnly, kind: .file), fds: [fd])
            } prepare: {
                do {
                    try SeccompFilter(profile: Self.serverThreadProfile, mode: .kill).load()
                } catch {
                    Issue.record("loading the filter failed: \(error)")
                }
            }
            let requests = RequestClient(socket: client)
            #expect(try requests.hello().helper == "bulkhead-test")
            for (bytes, fds) in [(rawDatagram(magic: 7), 1), (rawDatagram(commandID: 999), 4), ([1, 2, 3], 9)] {
                try client.send(bytes, fds: Array(repeating: marker.write, count: fds))
                _ = try receiveError(on: client)
            }
            for _ in 0..<50 {
                let opened = try requests.call(BlockOpenRequest(path: "/d", access: .readOnly))
                for fd in opened.fds { try fd.close() }
                let echoed = try requests.call(EchoRequest(payload: Array(repeating: 1, count: 4000))).reply
                #expect(echoed.payload.count == 4000)
            }
            client.close()
            #expect(thread.finish() == .peerHungUp)
            #expect(openFDCount(of: [marker.target]) == 2)
        }
    }
}
