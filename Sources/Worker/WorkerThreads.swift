import CWorker
import Devices
import Glibc
import KVM
import Sandbox
import SystemPackage
import TestGuest

/// The bodies of the worker's threads. Each starts by naming itself and stacking its role
/// filter (Sources/Sandbox/Profiles) before it touches anything the guest controls.
struct WorkerThreads {
    let state: RunState
    let serial: SerialPort
    let escapeProbe: EscapeProbe?
    let memory: GuestMemory
    let mode: FilterMode
    let statusFD: FileDescriptor?
    /// The built-in test guest's private ports (park) exist only when it is the guest.
    let runsTestGuest: Bool
    let virtio: VirtioDevices
    let gate: PauseGate
    /// One per vCPU, by index (WorkerMetrics).
    let exitCounters: [VCPUCounters]
    let restart: VMRestart
    /// The console input (`--console-input-fd`): read on the io thread into the UART.
    let console: ConsoleReceiver?

    private func confine(_ name: String, as role: Role) -> Bool {
        do {
            try Confinement.confineThread(named: name, as: role, mode: mode)
        } catch {
            state.fail("\(name): cannot confine the thread: \(error)")
            return false
        }
        state.threadConfined()
        return true
    }

    /// A vCPU thread with nothing to run: out of KVM_RUN, so a pause does not wait for it,
    /// until a `reset` starts the guest again (then the loop goes on from the reset registers).
    private func park() {
        gate.parkUntilReset()
    }

    /// The i8042 keyboard controller's command port; 0xFE pulses the CPU reset line.
    static let i8042Command: UInt16 = 0x64

    /// `vcpuN`: KVM_RUN and the port exits it returns, emulated in place.
    func vcpu(_ vcpu: VCPU) {
        let name = Role.vcpu.threadName(index: Int(vcpu.id))
        gate.register(vcpu: Int(vcpu.id))
        guard confine(name, as: .vcpu) else { while true { park() } }  // the VM is failing: never run unconfined
        var ranBefore = false
        while true {
            gate.holdIfPaused(vcpu)
            let exit: VCPUExit
            do { exit = try vcpu.run() } catch {
                state.fail("\(name): \(error)")
                park()
                continue
            }
            exitCounters[Int(vcpu.id)].count(exit)
            if !ranBefore {  // KVM_RUN returned: the guest ran (RunState.guestStarted)
                ranBefore = true
                state.guestStarted()
            }
            switch exit {
            case .io(let io): handlePort(io, on: name)
            case .mmio(let address, let isWrite, let data, let length):
                if let (device, offset) = virtio.transport(at: address) {
                    device.handle(offset: offset, isWrite: isWrite, data: data, length: length)
                } else if !isWrite {
                    for i in 0..<min(length, 8) { data[i] = 0xFF }  // nothing there: reads float high
                }
            case .interrupted: continue
            case .shutdown:
                state.fail("\(name): the guest triple-faulted (KVM_EXIT_SHUTDOWN)")
                park()
            case .halt:
                state.fail("\(name): the guest halted with nothing to wake it")
                park()
            default:
                state.fail("\(name): unexpected exit \(exit)")
                park()
            }
        }
    }

    private func handlePort(_ io: PortIO, on name: String) {
        switch io.port {
        case SerialPort.ports: serial.handle(io)
        case TestGuest.Port.poweroff where io.isWrite:
            state.powerOff(status: Int32(io.value & 0xFF))
            park()
        case TestGuest.Port.park where io.isWrite && runsTestGuest: park()
        case TestGuest.Port.null: break
        case Self.i8042Command where io.isWrite && io.value & 0xFF == 0xFE:
            state.powerOff(status: 0)  // i8042 pulse reset line (Linux reboot=k): the run ends
            park()
        case TestGuest.Port.escape where io.isWrite && io.size == 4:
            guard let probe = escapeProbe else { break }
            guard let request = probe.request(at: io.value) else { return state.fail("\(name): escape request outside guest memory") }
            probe.perform(request)
        case TestGuest.Port.escapeOnIO where io.isWrite && io.size == 4:
            guard let probe = escapeProbe else { break }
            guard let request = probe.request(at: io.value) else { return state.fail("\(name): escape request outside guest memory") }
            probe.performOnIOThread(request)
        default:
            if !io.isWrite { io.answer(0xFFFF_FFFF) }  // nothing there: the bus floats high
        }
    }

    /// `io`: virtqueue work woken by ioeventfds, console input into the UART, and the escape
    /// probe's `@io` requests.
    func io() {
        guard confine("io", as: .io) else { state.parkForever() }
        if virtio.isEmpty && console == nil && escapeProbe == nil { state.parkForever() }
        IOThreadLoop.run(virtio: virtio, console: console, escapeProbe: escapeProbe, onError: state.fail, onWarning: state.report)
    }

    /// `control`: waits until every thread is confined, tells the parent (`ready`), says
    /// `started` once a vCPU's first KVM_RUN has returned (the guest ran), then serves the
    /// parent's requests on the status socket (ParentRequests) until the VM ends or the
    /// parent's status fd hangs up, and ends the process with the guest's status.
    func control(threads: Int) -> Never {
        guard confine("control", as: .control) else { state.parkForever() }
        state.waitUntilConfined(threads: threads)
        if let statusFD { ParentRequests.send("ready", to: statusFD) }
        var fds = [pollfd(fd: state.wakeFD.rawValue, events: Int16(POLLIN), revents: 0)]
        if let statusFD { fds.append(pollfd(fd: statusFD.rawValue, events: Int16(POLLIN), revents: 0)) }
        let requests = ParentRequests(
            state: state, gate: gate, memory: memory, runsTestGuest: runsTestGuest,
            metrics: WorkerMetrics(vcpus: exitCounters, virtio: virtio, serial: serial), restart: restart)
        var startReported = false
        func reportStart() {
            guard !startReported, state.hasGuestStarted else { return }
            startReported = true
            if let statusFD { ParentRequests.send("started", to: statusFD) }
        }
        while state.finalStatus == nil {
            let n = bh_ppoll_forever(&fds, UInt(fds.count))
            if n < 0 && n != -EINTR { state.fail("control: ppoll: \(-n)") }
            if !startReported && state.hasGuestStarted && state.finalStatus == nil {
                var count: UInt64 = 0
                _ = read(state.wakeFD.rawValue, &count, 8)  // the start's wake-up; a power-off writes again
                reportStart()
            }
            guard fds.count > 1, let statusFD else { continue }
            // A parent that died shows as POLLIN with end of file (and POLLHUP): the VM ends
            // then. PR_SET_PDEATHSIG alone does not end it: the kernel sends that signal only
            // where the dying parent may signal this process, and a sealed parent with no
            // CAP_KILL may not signal a worker under another uid.
            let served = fds[1].revents & Int16(POLLIN) != 0 ? requests.serveOne(statusFD) : fds[1].revents == 0
            if !served { state.fail("control: the parent hung up") }
        }
        reportStart()  // a guest that powered off before this thread saw it start
        let status = state.finalStatus ?? 70
        if let statusFD { ParentRequests.send("poweroff \(status)", to: statusFD) }
        _exit(status)
    }
}
