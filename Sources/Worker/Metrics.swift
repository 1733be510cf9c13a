import Devices
import KVM
import Synchronization

/// VM exits by kind, per vCPU: counted by each vCPU thread with relaxed atomic adds (no
/// syscall: the vcpu profile is unchanged) and read by the control thread for `metrics`.
final class VCPUCounters: Sendable {
    let io = Atomic<UInt64>(0)
    let mmio = Atomic<UInt64>(0)
    /// KVM_RUN returned EINTR or KVM_EXIT_INTR: a pause kick, or another signal.
    let interrupted = Atomic<UInt64>(0)
    let other = Atomic<UInt64>(0)

    func count(_ exit: VCPUExit) {
        switch exit {
        case .io: io.wrappingAdd(1, ordering: .relaxed)
        case .mmio: mmio.wrappingAdd(1, ordering: .relaxed)
        case .interrupted: interrupted.wrappingAdd(1, ordering: .relaxed)
        default: other.wrappingAdd(1, ordering: .relaxed)
        }
    }
}

/// Every counter of the worker, as `NAME VALUE` pairs for the parent (ParentRequests):
/// `vcpuN.exits.{io,mmio,intr,other}`, `virtioN.{blk,net}.{requests,bytes,errors,ring-resets}`
/// and `console.bytes`. README "Operating a running VM" names them.
struct WorkerMetrics {
    let vcpus: [VCPUCounters]
    let virtio: VirtioDevices
    let serial: SerialPort

    var pairs: [(String, UInt64)] {
        var out: [(String, UInt64)] = []
        for (index, vcpu) in vcpus.enumerated() {
            out += [
                ("vcpu\(index).exits.io", vcpu.io.load(ordering: .relaxed)),
                ("vcpu\(index).exits.mmio", vcpu.mmio.load(ordering: .relaxed)),
                ("vcpu\(index).exits.intr", vcpu.interrupted.load(ordering: .relaxed)),
                ("vcpu\(index).exits.other", vcpu.other.load(ordering: .relaxed)),
            ]
        }
        for (index, device) in virtio.counted.enumerated() {
            let name = "virtio\(index).\(device.kind)"
            out += [
                ("\(name).requests", device.counters.requests.load(ordering: .relaxed)),
                ("\(name).bytes", device.counters.bytes.load(ordering: .relaxed)),
                ("\(name).errors", device.counters.errors.load(ordering: .relaxed)),
                ("\(name).ring-resets", device.transport.ringResets.load(ordering: .relaxed)),
            ]
        }
        out.append(("console.bytes", serial.consoleBytes.load(ordering: .relaxed)))
        return out
    }

    /// One status-socket line: `metrics NAME=VALUE NAME=VALUE …`.
    var line: String { "metrics " + pairs.map { "\($0.0)=\($0.1)" }.joined(separator: " ") }
}
