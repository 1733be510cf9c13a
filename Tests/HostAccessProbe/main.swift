// bulkhead-hostaccess-probe: a test instrument, not a product. It does what a helper does
// — declare (unconfined), confine itself with the helper's real profile in trap mode, then
// serve one request through the HostAccess library — so tests prove the library's calls fit
// the profiles. Foundation-free, like the helpers.
//
//   block <ro|rw> <declared path> <requested path> <ro|rw>
//   net <declared tap> <requested tap> [pooled]
//       (pooled: /dev/net/tun opened before confining, as the net helper does as root)
//   exec <program> [fixed arguments…]   (confined as exec-hook, as the exec helper's launcher)
//
// After confining it writes "confined\n" and waits for one line on stdin (so a test can
// change the world in between), then prints one result line and exits 0 (served),
// 2 (refused), 1 (setup failed), or 159 (a forbidden syscall, reported on stderr).
import Glibc
import HostAccess
import Sandbox

func say(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    _ = write(1, &bytes, bytes.count)  // no stdio: it would fstat stdout, which the net profile forbids
}

func waitForGo() {
    var byte: UInt8 = 0
    while read(0, &byte, 1) == 1 && byte != UInt8(ascii: "\n") {}
}

func confine(_ role: Role) {
    // The role's real profile plus the one call of the probe's own where the role lacks it:
    // reading the test's go line from stdin (fd 0 only, which no HostAccess call reads).
    let goLine = SyscallRule.allow("read", where: .arg(0, .equal(0)), because: "the test's go line on stdin")
    let probe = Profile(
        name: role.profile.name, summary: "the probe as \(role.rawValue)", includes: [role.profile],
        rules: role.profile.allowList["read"] == nil ? [goLine] : [])
    do { try Confinement.confineProcess(with: probe, mode: .trap) } catch {
        say("setup: \(error)")
        exit(1)
    }
    say("confined")
    waitForGo()
}

func access(_ text: String) -> FileAccess { text == "rw" ? .readWrite : .readOnly }

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "block" where arguments.count == 5:
    let files: DeclaredFiles
    do { files = try DeclaredFiles([FileDeclaration(path: arguments[2], access: access(arguments[1]))]) } catch {
        say("setup: \(error)")
        exit(1)
    }
    confine(.block)
    do {
        let opened = try files.open(path: arguments[3], access: access(arguments[4]))
        say("opened \(opened.type) size=\(opened.size)")
        try? opened.descriptor.close()
        exit(0)
    } catch {
        say("refused: \(error)")
        exit(2)
    }
case "net" where arguments.count == 3 || (arguments.count == 4 && arguments[3] == "pooled"):
    let taps: DeclaredTaps
    var pool: TunDevicePool
    do {
        taps = try DeclaredTaps([arguments[1]])
        pool = arguments.count == 4 ? try TunDevicePool(opening: taps, servingUID: geteuid()) : TunDevicePool(servingUID: geteuid())
    } catch {
        say("setup: \(error)")
        exit(1)
    }
    confine(.net)
    do {
        let descriptor = try taps.open(name: Array(arguments[2].utf8), pool: &pool)
        say("attached \(arguments[2])")
        try? descriptor.close()
        exit(0)
    } catch {
        say("refused: \(error)")
        exit(2)
    }
case "exec" where arguments.count >= 2:
    let hooks: DeclaredHooks
    do {
        try HookRunner.adoptOrphanedDescendants()
        hooks = try DeclaredHooks(
            [HookDeclaration(name: "hook", program: arguments[1], arguments: Array(arguments.dropFirst(2)))],
            limits: HookLimits(timeLimit: .seconds(1)))
    } catch {
        say("setup: \(error)")
        exit(1)
    }
    confine(.execHook)  // what the exec helper's launcher runs hooks under
    do {
        let result = try hooks.run(name: "hook")
        say("ran \(result.termination) output=\(String(decoding: result.output, as: UTF8.self).debugDescription)")
        exit(0)
    } catch {
        say("refused: \(error)")
        exit(2)
    }
default:
    say("usage: block <ro|rw> <declared> <requested> <ro|rw> | net <declared> <requested> <0|1> | exec <program> [args…]")
    exit(1)
}
