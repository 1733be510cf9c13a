import Foundation

/// The package's built executables, found beside the running test binary (the directory
/// of /proc/self/exe, or the one above an .xctest bundle).
public enum BuiltProducts {
    public static let directory: String = {
        var url = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        if url.path.hasSuffix(".xctest") { url = url.deletingLastPathComponent() }
        return url.path
    }()

    public static func path(_ program: String) -> String { directory + "/" + program }
    public static func url(_ program: String) -> URL { URL(fileURLWithPath: path(program)) }
}
