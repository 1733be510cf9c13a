import Foundation
import PackagePlugin

/// Builds the test guest (Guest/: freestanding C and assembly) with the system gcc, ld and
/// objcopy into a flat image and hands the TestGuest target a generated Swift source that
/// holds the image's bytes in hex. So a plain `swift build` produces the guest, and it is
/// rebuilt whenever a file in Guest/ changes.
@main
struct TestGuestBuilder: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let guest = context.package.directoryURL.appending(path: "Guest")
        let work = context.pluginWorkDirectoryURL
        let output = work.appending(path: "TestGuestImage.swift")
        let inputs = try FileManager.default.contentsOfDirectory(
            at: guest, includingPropertiesForKeys: nil
        ).filter { ["c", "h", "S", "ld", "sh"].contains($0.pathExtension) }
        return [
            .buildCommand(
                displayName: "Building the test guest image",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [
                    guest.appending(path: "build.sh").path, guest.path,
                    work.appending(path: "guest").path, output.path,
                ],
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}
