import BulkheadProtocol
import Glibc
import RunSpecs
import SystemPackage
import Vocabulary

/// `bulkhead run --connect block=SOCKET,net=SOCKET,exec=SOCKET` (any subset): the parent
/// connects to those helpers' socket-activated services (README "Deployment") instead of
/// spawning them. A service serves what its own config declares; the VM's `--disk`, `--net`
/// and `--hook` declarations must be among them, or the service refuses the request.
enum HelperConnections {
    /// `--connect`: the pairs `ConnectSpec` accepts, each path an existing socket (stat only:
    /// the service is connected to at start-up, after validation).
    static func parse(_ text: String?) throws -> [HelperKind: String] {
        let result = try ConnectSpec.parse(text)
        for kind in [HelperKind.block, .net, .exec] {
            guard let path = result[kind] else { continue }
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else {
                throw ConfigurationError("--connect \(kind.rawValue)=\(path)", "\(path) is not a socket (is the service's .socket unit started?)")
            }
        }
        return result
    }

    /// socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC) connected to `path`.
    static func connect(to path: String) throws -> SeqPacketSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let problem = Errno(rawValue: errno)
            close(fd)
            throw problem
        }
        return SeqPacketSocket(FileDescriptor(rawValue: fd))
    }
}
