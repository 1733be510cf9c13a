// bulkhead-worker: runs one VM under per-thread seccomp filters. See WorkerOptions for the
// argv/fd contract. Order matters: build the VM, load `worker-base` process-wide, then
// start threads that each stack their role filter before running guest-driven code.
import CShim
import CWorker
import Devices
import Glibc
import KVM
import Sandbox
import SystemPackage

func runWorker() throws(WorkerError) -> Never {
    try WorkerDefense.exitOnTerminateAsInit()
    var options = try WorkerOptions(arguments: Array(CommandLine.arguments.dropFirst()))
    try FileRequests.resolve(&options)
    // The VM never outlives its parent: this signal where the parent may send it (root with
    // CAP_KILL), else the status socket's end of file (WorkerThreads.control).
    _ = bh_set_parent_death_signal(SIGKILL)
    signal(SIGPIPE, SIG_IGN)  // a closed console is an error to report, not a death
    // glibc sizes its arena limit lazily, by reading /sys/devices/system/cpu/online once a
    // ninth thread allocates: an openat no filter allows. A fixed limit never asks.
    _ = bh_limit_malloc_arenas(8)

    let state = try RunState(reportFD: options.reportFD)
    if !(getenv("SWIFT_BACKTRACE").map { String(cString: $0).contains("enable=no") } ?? false) {
        // Swift's crash backtracer forks and execs a helper: under the filters a crash would
        // then be reported as a forbidden call. The parent sets SWIFT_BACKTRACE=enable=no.
        state.report("bulkhead-worker: warning: SWIFT_BACKTRACE=enable=no is not set")
    }
    let machine: Machine
    do {
        machine = try Machine(kvm: KVMSystem(fd: options.kvmFD), options: options)
    } catch {
        throw .setup("cannot build the VM: \(error)")
    }
    // The pause kick (PauseGate): an empty handler, so a signalled KVM_RUN returns EINTR.
    let kick = bh_install_kick_handler()
    guard kick == 0 else { throw .system(call: "sigaction(SIGUSR1)", errno: -kick) }
    // The UART's receiver is fed on the io thread; the vCPU that empties it wakes that thread.
    var drainedFD: FileDescriptor?
    if options.consoleInputFD != nil { drainedFD = try ConsoleReceiver.makeDrainedFD() }
    // The tee must never block a vCPU: non-blocking here, whatever the parent set.
    if let tee = options.consoleTeeFD {
        let flags = fcntl(tee.rawValue, F_GETFL)
        guard flags >= 0, fcntl(tee.rawValue, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw .usage("--console-tee-fd \(tee.rawValue): not an open fd (errno \(errno))")
        }
    }
    let serial = SerialPort(
        consoleFD: options.consoleFD, teeFD: options.consoleTeeFD, interrupt: IRQEventFD(fd: machine.serialInterrupt),
        drained: drainedFD.map { IRQEventFD(fd: $0) })
    var console: ConsoleReceiver?
    if let inputFD = options.consoleInputFD, let drainedFD {
        console = try ConsoleReceiver(inputFD: inputFD, drainedFD: drainedFD, serial: serial)
    }
    let threads = WorkerThreads(
        state: state, serial: serial,
        escapeProbe: options.escapeProbe ? try EscapeProbe(memory: machine.memory) : nil, memory: machine.memory,
        mode: options.seccomp, statusFD: options.statusFD,
        runsTestGuest: options.kernelFD == nil, virtio: machine.virtio, gate: PauseGate(vcpus: machine.vcpus),
        exitCounters: machine.vcpus.map { _ in VCPUCounters() },
        restart: VMRestart(
            vcpus: machine.vcpus, initialRegisters: machine.initialRegisters, testGuestLoad: machine.testGuestLoad,
            memory: machine.memory, virtio: machine.virtio, serial: serial),
        console: console)

    try WorkerDefense.apply(options)  // namespaces, uid, limits (DESIGN.md §7)

    do {
        try Confinement.confineProcess(
            as: .workerBase, mode: options.seccomp, reportTo: options.reportFD)
    } catch {
        throw .setup("cannot load the worker-base filter: \(error)")
    }

    // Every thread that reports itself confined: control, io, each vCPU and this main thread.
    let count = machine.vcpus.count + 3
    let control = try WorkerThread.start { threads.control(threads: count) }
    try WorkerThread.start { threads.io() }
    for vcpu in machine.vcpus {
        try WorkerThread.start { threads.vcpu(vcpu) }
    }
    // The main thread only waits for control from here on; it stacks control's filter too, so
    // no thread of the worker runs under the base filter alone (it keeps its name: ps shows it).
    if options.seccomp != .none {
        do { try SeccompFilter(profile: Role.control.profile, mode: options.seccomp).load() } catch {
            throw .setup("cannot stack the control filter on the main thread: \(error)")
        }
    }
    // Counted like the other threads, so `ready` (and /proc) never shows it under the base alone.
    state.threadConfined()
    pthread_join(control, nil)  // control ends the process with the guest's status
    _exit(70)
}

do {
    try runWorker()
} catch {
    let line = "bulkhead-worker: \(error)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(error.exitStatus)
}
