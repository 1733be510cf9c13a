/// The parent's exit statuses (README "Running a VM"). BSD sysexits where one fits.
enum ExitStatus {
    /// The guest powered off with status 0.
    static let clean: Int32 = 0
    // 1…63: the guest's own failure status (its power-off byte), passed through.
    /// Command-line syntax (argument parser).
    static let usage: Int32 = 64
    /// Bad configuration or a policy refusal; nothing was started (EX_DATAERR).
    static let configuration: Int32 = 65
    /// A helper did not start, failed its handshake, or died while the VM ran (EX_UNAVAILABLE).
    static let helperFailure: Int32 = 69
    /// The worker reported a VMM error or died of a signal other than SIGSYS (EX_SOFTWARE).
    static let workerFailure: Int32 = 70
    /// The parent could not start the VM: /dev/kvm, fork, sockets, sealing (EX_OSERR).
    static let systemError: Int32 = 71
    /// A `prepare` hook failed (nothing was started), or an `up` hook failed (the VM was
    /// ended): the operator's own hook refused the VM (EX_NOPERM).
    static let hookFailed: Int32 = 77
    /// `bulkhead units` could not create or write its output (EX_CANTCREAT).
    static let cannotCreate: Int32 = 73
    /// A process was killed for a forbidden call; the report is on stderr (128 + SIGSYS).
    static let forbiddenCall: Int32 = 159
    /// Ended by SIGHUP, SIGINT or SIGTERM to the parent: 128 + the signal (129, 130, 143).
    static func interrupted(by signal: Int32) -> Int32 { 128 + signal }
}
