import CWorker
import Glibc

/// The io thread's loop: sleep in ppoll on the virtio devices' ioeventfds and taps, on the
/// console input and its drained eventfd, and on the escape probe's hand-off eventfd, then
/// serve what fired. Only ppoll, read, write,
/// readv/writev, preadv/pwritev and fdatasync (the `io` profile). `onError` ends the VM (a
/// VMM fault); `onWarning` only reports.
enum IOThreadLoop {
    static func run(
        virtio: VirtioDevices, console: ConsoleReceiver?, escapeProbe: EscapeProbe?,
        onError: (String) -> Void, onWarning: (String) -> Void
    ) -> Never {
        var console = console
        var fds = virtio.pollEntries()
        let consoleIndex = fds.count
        if let console { fds += console.pollEntries() }
        let probeIndex = fds.count
        if let escapeProbe { fds.append(pollfd(fd: escapeProbe.wakeFD.rawValue, events: Int16(POLLIN), revents: 0)) }
        while true {
            let n = bh_ppoll_forever(&fds, UInt(fds.count))
            if n < 0 {
                if n != -EINTR { onError("io: ppoll failed: errno \(-n)") }  // no strerror: it may load a message catalog
                continue
            }
            if !virtio.isEmpty { virtio.service(&fds, onWarning: onWarning) }
            console?.service(&fds, at: consoleIndex, onWarning: onWarning)
            if let escapeProbe, fds[probeIndex].revents != 0 { escapeProbe.serveIOThread() }
        }
    }
}
