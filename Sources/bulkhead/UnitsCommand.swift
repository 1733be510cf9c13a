import ArgumentParser
import Glibc
import SystemdUnits

/// `bulkhead units --out DIR [--prefix NAME] [--file ro:PATH]... [--tap NAME]... [--hook NAME=PROG]...`:
/// writes a `.socket`, a `.service` and a config file for each helper (DESIGN.md §8), the
/// services' syscall filters from the same profiles the helpers load themselves.
struct UnitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "units",
        abstract: "Write systemd units running each helper as its own socket-activated service.",
        discussion: "Exit status: 0 written; 64 usage; 65 a bad declaration (nothing written); 73 cannot write to --out.")

    @Option(help: "The directory to write the units and config files into (created if missing).")
    var out: String

    @Option(help: "Unit, socket and config names start with it.")
    var prefix: String = "bulkhead"

    @Option(help: "Run the services as this existing user (default: DynamicUser=yes).")
    var user: String?

    @Option(help: "Where the units expect the helpers' config files.")
    var configDirectory: String = "/etc/bulkhead"

    @Option(name: .customLong("file"), help: "ro:PATH or rw:PATH: a file the block service may open.")
    var files: [String] = []

    @Option(name: .customLong("tap"), help: "A tap the net service may attach.")
    var taps: [String] = []

    @Option(name: .customLong("hook"), help: "NAME=/abs/program: a hook the exec service may run.")
    var hooks: [String] = []

    @Option(name: .customLong("hook-arg"), help: "NAME=ARG: a fixed argument of a declared hook.")
    var hookArguments: [String] = []

    func run() throws {
        var options = UnitOptions(helperDirectory: Self.executableDirectory())
        options.prefix = prefix
        options.user = user
        options.configDirectory = configDirectory
        options.files = files
        options.taps = taps
        options.hooks = hooks
        options.hookArguments = hookArguments
        let units: HelperUnits
        do { units = try HelperUnits(options) } catch {
            StandardError.line(error.description)
            Glibc.exit(ExitStatus.configuration)  // nothing written
        }
        do {
            if mkdir(out, 0o755) != 0 && errno != EEXIST { throw UnitProblem("cannot create \(out): \(String(cString: strerror(errno)))") }
            for file in units.files {
                let path = out + "/" + file.name
                try Self.writeFile(file.text, to: path)
                print(path)
            }
        } catch {
            StandardError.line("\(error)")
            Glibc.exit(ExitStatus.cannotCreate)
        }
    }

    /// The directory of the running `bulkhead` (readlink /proc/self/exe): the helpers sit beside it.
    static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "/usr/libexec/bulkhead" }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }

    static func writeFile(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw UnitProblem("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw UnitProblem("cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += written
        }
    }
}
