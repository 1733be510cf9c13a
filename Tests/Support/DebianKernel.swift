import Foundation

/// Debian's own amd64 kernel, for the Linux boot tests of several targets.
public enum DebianKernel {
    /// /dev/kvm is PVM (kvm_pvm): Linux ring-0 code is emulated an instruction at a time.
    public static var isPVM: Bool { FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") }

    /// The cached ELF vmlinux (Tests/Fixtures/debian-vmlinux.py: apt-get download, dpkg-deb -x,
    /// payload decompression, cached in ~/.cache/bulkhead/kernel); the bzImage `vmlinuz` lies beside it.
    public static func vmlinux() throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/debian-vmlinux.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw FixtureFailure("debian-vmlinux.py failed") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Hides CX16 on PVM: its ring-0 emulator has no cmpxchg16b.
    public static var hiddenCPUIDArguments: [String] { isPVM ? ["--hide-cpuid", "cx16"] : [] }
}

public struct FixtureFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
