import Glibc
import KVM
import SystemPackage
import TestGuest

/// What the parent asks the worker's control thread on the status socket (SOCK_SEQPACKET,
/// one line per datagram; README "Operating a running VM"), and the one-line answers:
///
///     stop          → (the VM ends with 143, as SIGTERM would; `poweroff 143` follows)
///     pause         → paused         (once every vCPU is out of KVM_RUN and held)
///     resume        → resumed
///     guest-stop    → guest-stop asked | guest-stop unsupported
///     metrics       → metrics NAME=VALUE …   (WorkerMetrics)
///     reset         → reset | reset unsupported   (VMRestart; the test guest only)
///
/// `guest-stop` is the graceful half of `ctl stop`: the test guest polls boot_info.stop
/// (Guest/layout.h) in its waiting steps and powers off; a Linux guest has no such flag
/// (no ACPI here), so the parent ends it when the caller's timeout passes. Anything else
/// gets `error unknown request`. The sealed parent never trusts these answers beyond
/// matching them to what it asked (ControlServer).
struct ParentRequests {
    let state: RunState
    let gate: PauseGate
    let memory: GuestMemory
    let runsTestGuest: Bool
    let metrics: WorkerMetrics
    let restart: VMRestart

    /// 128 + SIGTERM: what the worker exited with when the parent ended it with a signal.
    static let stoppedStatus: Int32 = 143

    /// Reads one datagram from the parent and answers it. False when the parent is gone:
    /// end of file (it exited or was killed, and the socket's last other holder with it) or
    /// a read error other than an interruption.
    func serveOne(_ fd: FileDescriptor) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd.rawValue, &buffer, buffer.count)
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return true }
        guard n > 0 else { return false }
        answer(String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\n").first ?? "", on: fd)
        return true
    }

    private func answer(_ request: Substring, on fd: FileDescriptor) {
        switch request {
        case "stop":
            state.powerOff(status: Self.stoppedStatus)
        case "pause":
            gate.pause()
            Self.send("paused", to: fd)
        case "resume":
            gate.resume()
            Self.send("resumed", to: fd)
        case "reset":
            guard restart.isPossible else { return Self.send("reset unsupported", to: fd) }
            gate.reset { restart.restart(onError: state.fail) }
            Self.send("reset", to: fd)
        case "metrics":
            Self.send(metrics.line, to: fd)
        case "guest-stop":
            guard runsTestGuest, (try? memory.store(UInt32(1), at: TestGuest.Layout.stopRequestAddress)) != nil else {
                return Self.send("guest-stop unsupported", to: fd)
            }
            gate.resume()  // a paused guest could not see the request
            Self.send("guest-stop asked", to: fd)
        default:
            Self.send("error unknown request", to: fd)
        }
    }

    static func send(_ line: String, to fd: FileDescriptor) {
        var text = line + "\n"
        _ = text.withUTF8 { write(fd.rawValue, $0.baseAddress, $0.count) }
    }
}
