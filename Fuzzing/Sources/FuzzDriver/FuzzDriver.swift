import FuzzEntries
import Glibc

/// libFuzzer's driver, given the callback (compiler-rt's FuzzerInterface.h). SwiftPM links
/// an executable's main as `<target>_main` with `--defsym main=<target>_main`, which shadows
/// libFuzzer's own main; so each target's main.swift calls this driver itself.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

nonisolated(unsafe) private var selected: FuzzTarget?

/// What libFuzzer calls for each input. Exported under the C name because -sanitize=fuzzer
/// links libFuzzer's own main, which refers to it (that main is never run, see above).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = selected!.entry(bytes)
    return 0
}

/// Runs libFuzzer with this process's arguments on the entry of target `name`.
public func runFuzzer(_ name: String) -> Never {
    guard let target = FuzzTarget.named(name) else { fatalError("no fuzz target \(name)") }
    selected = target
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
}
