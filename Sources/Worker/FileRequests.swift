import BulkheadProtocol
import SystemPackage

/// Host resources as the helpers hand them over: the worker names a declared kernel,
/// initrd or disk path (block helper) or tap (net helper) and receives an fd; it never
/// opens a path itself. Runs before `worker-base` is loaded (sendmsg/recvmsg on the
/// inherited sockets); a helper's refusal ends the worker with its reason.
enum FileRequests {
    /// Replaces --kernel/--initrd/--disk PATH and --tap NAME with the fds the helpers
    /// returned, used exactly as --kernel-fd/--initrd-fd/--disk-fd/--tap-fd are.
    static func resolve(_ options: inout WorkerOptions) throws(WorkerError) {
        if let socketFD = options.blockSocketFD {
            let block = RequestClient(socket: SeqPacketSocket(socketFD))
            if let kernel = options.kernelPath { options.kernelFD = try open(kernel, .readOnly, block) }
            if let initrd = options.initrdPath { options.initrdFD = try open(initrd, .readOnly, block) }
            for disk in options.diskPaths {
                let fd = try open(disk.path, disk.readOnly ? .readOnly : .readWrite, block)
                options.disks.append(DiskOption(fd: fd, readOnly: disk.readOnly))
            }
        }
        if let socketFD = options.netSocketFD {
            let net = RequestClient(socket: SeqPacketSocket(socketFD))
            for tap in options.tapNames {
                let fd: FileDescriptor
                do {
                    // No IFF_VNET_HDR: VirtioNet moves plain frames (Sources/Devices/VirtioNet.swift).
                    fd = try net.call(NetOpenTapRequest(name: tap.name)).fds[0]
                } catch {
                    throw .setup("the net helper did not hand over tap \(tap.name): \(error)")
                }
                let macField = tap.mac.map { "mac=\($0)"[...] }
                options.taps.append(try TapOption(fd: fd, macField: macField, text: "\(fd.rawValue),\(macField ?? "")"))
            }
        }
    }

    private static func open(_ path: String, _ access: BlockAccess, _ client: RequestClient) throws(WorkerError) -> FileDescriptor {
        do {
            return try client.call(BlockOpenRequest(path: path, access: access)).fds[0]
        } catch {
            throw .setup("the block helper did not hand over \(path): \(error)")
        }
    }
}
