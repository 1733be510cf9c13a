/// The exit statuses every helper uses (Helpers/README.md lists them for the parent).
/// BSD sysexits values where one fits, so a status means the same in every helper.
public enum HelperExit: Int32, Sendable {
    /// The peer hung up: the normal end of a helper.
    case peerHungUp = 0
    /// EX_USAGE: a bad command line or a bad declaration; one line on stderr names it.
    case badCommandLine = 64
    /// EX_SOFTWARE: the socket failed while serving (recvmsg/sendmsg error).
    case socketFailed = 70
    /// EX_OSERR: start-up could not close fds, set no-new-privileges or load the filter.
    case confinementFailed = 71
    /// EX_PROTOCOL: the peer speaks another protocol version (it got one error reply).
    case versionMismatch = 76
    /// 128 + SIGSYS: a forbidden call in `--seccomp trap` mode, reported on stderr.
    /// (In the default `kill` mode the kernel kills the helper with SIGSYS instead.)
    case forbiddenCall = 159
}
