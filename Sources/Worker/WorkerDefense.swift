import Glibc
import ProcessDefense

/// DESIGN.md §7 for the worker, applied after the VM is built and before the worker-base
/// filter (main.swift), while it is still single-threaded:
/// - when `bulkhead run` started it as root and named an identity (BULKHEAD_RUN_AS): new
///   mount, network, IPC and UTS namespaces with an empty read-only root (it never opens a
///   path: every fd it needs is already held), then that uid/gid — distinct per VM — with no
///   groups and no capabilities at all;
/// - limits: no core dumps (guest memory never reaches a disk), at most 256 fds, no new
///   process: NPROC = its own threads (main, control, io, one per vCPU) + 1 for the task KVM
///   itself starts under the caller's credentials on the first KVM_RUN (kvm-nx-lpage-recovery,
///   a vhost task on this 6.18 kernel: without room for it KVM_RUN fails with EAGAIN for
///   ever); the uid is the VM's own, so nothing else counts. FSIZE: 0 when it writes no regular file; else
///   the larger of 1 GiB for a console, stdout or stderr that is a regular file, and the
///   size of each read-write disk (virtio-blk never writes past a disk's end). A write
///   past it fails with EFBIG and raises SIGXFSZ, which ends the VM.
/// PID namespace: `bulkhead run` as root starts the worker as PID 1 of a new one
/// (bh_spawn with CLONE_NEWPID), so no host process is visible to it; PID 1 ignores
/// signals it has no handler for, so SIGTERM (how the parent ends it) gets one that exits
/// (`exitOnTerminate`, the worker's first act).
enum WorkerDefense {
    /// As PID 1 of its own PID namespace: SIGTERM exits with 143. The spawn left SIGTERM
    /// blocked, so one the parent sent while the worker loaded (a helper died during start)
    /// was kept, and ends the worker here, before it asks a helper for anything.
    static func exitOnTerminateAsInit() throws(WorkerError) {
        guard getpid() == 1 else { return }
        do { try ProcessDefense.exitOnTerminate() } catch { throw .setup("\(error)") }
    }

    static let maxOpenFiles: UInt64 = 256
    static let fileConsoleMaxBytes: UInt64 = 1 << 30

    static func apply(_ options: WorkerOptions) throws(WorkerError) {
        do {
            if let identity = try ProcessDefense.requestedIdentity() {
                try ProcessDefense.enterEmptyNamespaces()
                try ProcessDefense.become(identity, keeping: 0)
                try ProcessDefense.limit(.processes, to: UInt64(options.cpus + 4))
            }
            try ProcessDefense.limit(.core, to: 0)
            try ProcessDefense.limit(.openFiles, to: maxOpenFiles)
            let logs = [1, 2, options.reportFD.rawValue] + (options.consoleFD.map { [$0.rawValue] } ?? [])
            let disks = options.disks.filter { !$0.readOnly }.map(\.fd.rawValue)
            try ProcessDefense.limit(.fileSize, to: ProcessDefense.fileSizeLimit(logFDs: logs, dataFDs: disks, logCap: fileConsoleMaxBytes))
        } catch {
            throw .setup("\(error)")
        }
    }
}
