// bulkhead-unit-exec UNIT-FILE PROGRAM [ARG...]: a test instrument, not a product. It does
// what systemd does before it starts a service's ExecStart=: no-new-privileges and a seccomp
// filter built from the unit's SystemCallFilter= lines (allow lines, and `~name:ERRNO`
// answers), plus the calls systemd always allows (systemd.exec(5)), default kill; then it
// execs PROGRAM in its own pid, so a socket-activated helper keeps LISTEN_PID.
import Glibc
import Sandbox

func fail(_ text: String) -> Never {
    _ = "bulkhead-unit-exec: \(text)\n".withCString { write(2, $0, strlen($0)) }
    exit(64)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else { fail("usage: bulkhead-unit-exec UNIT-FILE PROGRAM [ARG...]") }
guard let file = fopen(arguments[0], "r") else { fail("cannot open \(arguments[0])") }
var rules: [SyscallRule] = []
// systemd.exec(5): "execve, exit, exit_group, getrlimit, rt_sigreturn, sigreturn and the
// system calls for querying time and sleeping are implicitly allowed".
for name in ["execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "clock_gettime", "gettimeofday",
    "nanosleep", "clock_nanosleep", "time", "clock_getres"] {
    rules.append(.allow(name, because: "implicit in systemd"))
}
var line: UnsafeMutablePointer<CChar>?
var capacity = 0
while getline(&line, &capacity, file) > 0 {
    let text = String(cString: line!).trimmingSuffix("\n")
    guard text.hasPrefix("SystemCallFilter=") else { continue }
    let value = text.dropFirst("SystemCallFilter=".count)
    if value.hasPrefix("~") {
        for item in value.dropFirst().split(separator: " ") {
            let parts = item.split(separator: ":")
            let code: Int32 = parts.count > 1 && parts[1] == "ENOSYS" ? 38 : 1
            rules.append(.fail(String(parts[0]), errno: code, because: "unit: ~\(item)"))
        }
    } else {
        for name in value.split(separator: " ") { rules.append(.allow(String(name), because: "unit")) }
    }
}
fclose(file)
do {
    try Confinement.setNoNewPrivileges()
    try SeccompFilter(profile: Profile(name: "unit", summary: arguments[0], rules: rules), mode: .kill).load()
} catch {
    fail("cannot load the unit's filter: \(error)")
}
let argv: [UnsafeMutablePointer<CChar>?] = arguments.dropFirst().map { strdup($0) } + [nil]
execv(arguments[1], argv)
fail("execv \(arguments[1]): errno \(errno)")

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
