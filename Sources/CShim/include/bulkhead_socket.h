// SCM_RIGHTS plumbing for the protocol's SOCK_SEQPACKET transport. CMSG_* are macros,
// which Swift does not import, so building and reading control messages lives here.
// Wrapped by SeqPacketSocket in the BulkheadProtocol library; nothing else calls it.
#ifndef BULKHEAD_SOCKET_H
#define BULKHEAD_SOCKET_H

#include <stddef.h>

/// The most fds one call below can carry or take in. The protocol's own limit is
/// smaller; the extra room lets tests send more than the limit on purpose.
#define BH_SOCKET_FD_CAPACITY 16

/// socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds). Returns 0 or -errno.
int bh_seqpacket_pair(int fds[2]);

/// sendmsg(socket, {data, length} + one SCM_RIGHTS cmsg with fds[0..<fd_count],
/// MSG_NOSIGNAL). No cmsg when fd_count is 0. fd_count > BH_SOCKET_FD_CAPACITY is EINVAL.
/// Returns the bytes sent or -errno.
long bh_send_with_fds(int socket, const void *data, size_t length, const int *fds, int fd_count);

/// What one bh_receive_with_fds call saw besides the data.
struct bh_receive_result {
    /// Bytes of the datagram that landed in the buffer (0: peer hung up or empty datagram).
    long length;
    /// fds that arrived and are now open in this process (O_CLOEXEC), in fds_out.
    int fd_count;
    /// MSG_TRUNC: the datagram was longer than the buffer; the rest is gone.
    int data_truncated;
    /// MSG_CTRUNC: more fds (or control data) were sent than the control buffer holds;
    /// the kernel dropped the excess, the ones counted in fd_count did arrive.
    int control_truncated;
    /// A control message other than SCM_RIGHTS arrived (never expected).
    int foreign_control;
};

/// recvmsg(socket, {buffer, capacity}, MSG_CMSG_CLOEXEC) with a control buffer sized for
/// exactly max_fds fds (1...BH_SOCKET_FD_CAPACITY), so one fd more sets MSG_CTRUNC.
/// Every SCM_RIGHTS fd that arrived is written to fds_out (room for
/// BH_SOCKET_FD_CAPACITY) and counted, even when the cmsg was truncated.
/// Returns 0 (details in *result) or -errno (nothing received, no fds).
int bh_receive_with_fds(int socket, void *buffer, size_t capacity, int max_fds,
                        int *fds_out, struct bh_receive_result *result);

/// setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, microseconds): a blocked receive fails
/// with EAGAIN after that long; 0 waits forever. Returns 0 or -errno.
int bh_set_receive_timeout(int socket, long microseconds);

/// getsockopt(SO_DOMAIN, SO_TYPE): 1 if `fd` is an AF_UNIX SOCK_SEQPACKET socket, 0 if it
/// is another socket or not a socket (ENOTSOCK), else -errno.
int bh_is_unix_seqpacket(int fd);

#endif
