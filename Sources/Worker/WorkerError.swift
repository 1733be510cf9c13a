import Glibc

/// Why the worker could not start or had to stop its VM.
enum WorkerError: Error, CustomStringConvertible {
    case usage(String)
    case system(call: String, errno: Int32)
    case setup(String)

    var description: String {
        switch self {
        case .usage(let why): why
        case .system(let call, let errno): "\(call) failed: \(String(cString: strerror(errno)))"
        case .setup(let why): why
        }
    }

    /// sysexits.h: EX_USAGE for a bad command line, EX_SOFTWARE for everything else.
    var exitStatus: Int32 {
        if case .usage = self { return 64 }
        return 70
    }
}
