// bulkhead-syscall-probe: a test instrument, not a product. It confines itself exactly as
// the real process of a role does (process-wide filter; for thread roles, the worker-base
// filter and then the role's filter on a thread named for the role) and makes one syscall.
// It prints `result=N` and exits 0 if it survives; tests assert how it ended.
import Glibc

exit(runProbe(Array(CommandLine.arguments.dropFirst())))
