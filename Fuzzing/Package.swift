// swift-tools-version:6.0
// libFuzzer targets for Bulkhead's input surfaces (issue 9). A package of its own so the
// normal `swift build` never sees -sanitize=fuzzer; built by `make fuzz` / `make fuzz-smoke`:
//   swift build --package-path Fuzzing --scratch-path .build-fuzz \
//       -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
// Each `fuzz-NAME` runs the entry `FuzzTarget.named(NAME)` (Tests/FuzzEntries) under
// libFuzzer; its seed corpus is Tests/FuzzInputs/NAME.
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name, which is whatever the checkout is called.
let bulkhead = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let targetNames = [
    "protocol-decoder", "protocol-server", "block-path", "elf-loader", "bzimage-loader", "virtqueue",
    "run-options", "helper-arguments", "helper-config-file", "worker-reports", "control-requests",
]

let package = Package(
    name: "BulkheadFuzzing",
    dependencies: [.package(path: bulkhead.path)],
    targets: [
        .target(
            name: "FuzzDriver",
            dependencies: [.product(name: "FuzzEntries", package: bulkhead.lastPathComponent)],
            path: "Sources/FuzzDriver"),
    ] + targetNames.map { name in
        // lld: gold warns once per ASan helper symbol (over a thousand lines per link).
        .executableTarget(
            name: "fuzz-\(name)", dependencies: ["FuzzDriver"], path: "Targets/\(name)",
            linkerSettings: [.unsafeFlags(["-use-ld=lld"])])
    }
)
