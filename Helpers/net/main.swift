// bulkhead-net --socket-fd N [--seccomp MODE] [--tap NAME]...
// Attaches only the taps declared on its command line (HostAccess.DeclaredTaps: existing
// tap-mode devices, never created) and hands back the /dev/net/tun fd for `net.open-tap`.
// See Helpers/README.md.
import BulkheadProtocol
import Glibc
import HelperSupport
import HostAccess
import SystemPackage

let helper = Helper(program: "bulkhead-net", role: .net, kind: .net, options: ["--tap"])
helper.run { arguments in
    // A name that is not UTF-8 keeps a replacement character, which TapName refuses.
    let taps = try DeclaredTaps(arguments["--tap"].map(HelperArguments.text))
    // Still as root here (HelperDefense changes the uid after `declare`): one /dev/net/tun fd
    // per declared tap, so the device may stay root-only and the helper keeps CAP_NET_ADMIN
    // alone. Not root (a service): every open is made at request time (TunDevicePool).
    let servingUID = HelperDefense.servingUID()
    var pool = geteuid() == 0 ? try TunDevicePool(opening: taps, servingUID: servingUID) : TunDevicePool(servingUID: servingUID)
    return { request in
        let open = try request.decode(NetOpenTapRequest.self)
        let descriptor: FileDescriptor
        do throws(TapRefusal) {
            descriptor = try taps.open(name: Array(open.name.utf8), pool: &pool)
        } catch {
            throw Refusal(error.description)
        }
        return Reply(NetOpenTapReply(name: open.name), fds: [descriptor])
    }
}
