import BulkheadProtocol
import Cgroup
import HostAccess
import RunSpecs
import Vocabulary

/// The value parsers of `bulkhead run` (Sources/RunSpecs, what `RunConfiguration` and
/// `RunDefense` call, and `CgroupLimits` for the cgroup options): byte 0 picks the option, the rest is its value as the command line
/// gives it. Verdicts: what is accepted is what the helpers will accept later (a tap name
/// the net helper's `TapName` takes), and each value keeps its documented bounds.
public enum RunOptionsEntry {
    public static let options = [
        "--disk", "--net", "--hook", "--hook-arg", "--connect", "--uid-range", "--memory", "--name", "--memory-limit",
        "--pids-limit",
    ]

    public static func run(_ input: [UInt8]) -> FuzzOutcome {
        guard let first = input.first else { return .refused("empty input") }
        let value = text(input.dropFirst())
        do throws(ConfigurationError) {
            switch options[Int(first) % options.count] {
            case "--disk":
                let disk = try DiskSpec(parsing: value)
                check(!disk.path.contains(","), "a disk path with a comma")
            case "--net":
                let net = try NetSpec(parsing: value)
                check((try? TapName(validating: net.tap)) != nil, "a tap name the net helper refuses: \(net.tap)")
                if let mac = net.mac {
                    let octets = NetSpec.macOctets(mac)
                    check(octets?.count == 6 && octets![0] & 1 == 0, "a multicast or malformed MAC")
                    check(mac.utf8.count == 17 && mac.allSatisfy { $0 == ":" || $0.isHexDigit }, "MAC \(mac) is not xx:xx:xx:xx:xx:xx")
                }
            case "--hook":
                let hook = try HookSpec(parsing: value)
                check(Names.isValidHookName(hook.name) && value == hook.name + "=" + hook.program, "hook split")
            case "--hook-arg":
                let argument = try HookArgumentSpec(parsing: value)
                check(value == argument.name + "=" + argument.argument, "hook-arg split")
            case "--connect":
                for (kind, path) in try ConnectSpec.parse(value) {
                    check([HelperKind.block, .net, .exec].contains(kind), "connect to a \(kind) helper")
                    check(path.hasPrefix("/") && path.utf8.count < 108, "a socket path sockaddr_un cannot hold")
                }
            case "--uid-range":
                let range = try UIDRange.parse(value)
                check(range.lowerBound >= 1000 && range.upperBound < UInt32.max, "uid range \(range)")
                let numbers = value.split(separator: "-", omittingEmptySubsequences: false)
                check(
                    numbers.count == 2 && numbers.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }
                        && numbers.map { UInt32($0) } == [range.lowerBound, range.upperBound],
                    "uid range \(value) is not FIRST-LAST in decimal digits")
            case "--memory":
                check(VMLimits.memoryMiB.contains(try NumberOption.parse(value, "--memory", VMLimits.memoryMiB)), "memory out of range")
            case "--memory-limit", "--pids-limit":
                do {
                    let limit = first % 10 == 8 ? try CgroupLimits.memory(value) : try CgroupLimits.pids(value)
                    check(CgroupLimits.memoryRange.contains(limit) || CgroupLimits.pidsRange.contains(limit), "limit \(limit)")
                } catch { return .refused(error.description) }
            default:
                guard Names.isValidVMName(value) else { return .refused("not a VM name") }
                check(!value.hasPrefix(".") && !value.contains("/"), "a VM name that is a path")
            }
        } catch {
            return .refused(error.description)
        }
        return .accepted
    }
}
