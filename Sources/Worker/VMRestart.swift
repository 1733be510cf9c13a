import CWorker
import Glibc
import Devices
import KVM

/// `ctl reset` for the built-in test guest: with every vCPU paused, the virtio devices are
/// reset (as a driver writing status 0 does) and the UART too (SerialPort.reset: no byte
/// typed before the reset is read after it), the first TestGuest.Layout.minimumMemory bytes
/// of RAM are zeroed and loaded again (TestGuestLoad: tables, image, boot info) and each vCPU its starting registers (KVM_SET_REGS/KVM_SET_SREGS from the control thread,
/// which KVM allows while the vCPU is out of KVM_RUN). A Linux guest is not reset: its
/// kernel was read once through the block helper and is not kept, and the in-kernel
/// irqchip and timers would keep its state.
struct VMRestart {
    let vcpus: [VCPU]
    let initialRegisters: [(regs: kvm_regs, sregs: kvm_sregs)]
    let testGuestLoad: TestGuestLoad?
    let memory: GuestMemory
    let virtio: VirtioDevices
    let serial: SerialPort

    var isPossible: Bool { testGuestLoad != nil }

    /// Runs on the control thread while the gate holds every vCPU.
    func restart(onError: (String) -> Void) {
        guard let testGuestLoad else { return }
        for transport in virtio.transports { transport.reset() }
        serial.reset()
        do { try testGuestLoad.rewrite(into: memory) } catch { return onError("reset: \(error)") }
        for (vcpu, initial) in zip(vcpus, initialRegisters) {
            do {
                try vcpu.setSpecialRegisters(initial.sregs)
                try vcpu.setRegisters(initial.regs)
            } catch {
                return onError("reset: vcpu\(vcpu.id): \(error)")
            }
        }
    }
}
