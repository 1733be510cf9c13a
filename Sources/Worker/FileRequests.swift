import BulkheadProtocol
import SystemPackage

/// The guest's own files (kernel, initrd) as the block helper hands them over: the worker
/// names a declared path and receives an fd; it never opens a path itself. Runs before
/// `worker-base` is loaded (sendmsg/recvmsg on the inherited socket).
enum FileRequests {
    /// Replaces --kernel PATH / --initrd PATH with the fds the block helper returned.
    static func resolve(_ options: inout WorkerOptions) throws(WorkerError) {
        guard let socketFD = options.blockSocketFD, let kernel = options.kernelPath else { return }
        let client = RequestClient(socket: SeqPacketSocket(FileDescriptor(rawValue: socketFD)))
        options.kernelFD = try open(kernel, client)
        if let initrd = options.initrdPath { options.initrdFD = try open(initrd, client) }
    }

    private static func open(_ path: String, _ client: RequestClient) throws(WorkerError) -> Int32 {
        do {
            let response = try client.call(BlockOpenRequest(path: path, access: .readOnly))
            return response.fds[0].rawValue
        } catch {
            throw .setup("the block helper did not hand over \(path): \(error)")
        }
    }
}
