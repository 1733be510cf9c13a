import HelperSupport

/// A helper's `--config` file (Helpers/Support/HelperConfigFile.swift) as `Helper.run`
/// uses it: its options join a minimal command line and go through the same checks
/// (`HelperArgumentsEntry.declare`). Input: the file's bytes, offered to each of the three
/// helpers. Verdicts: every option is one the helper takes, with a non-empty one-line value.
public enum HelperConfigFileEntry {
    public static func run(_ file: [UInt8]) -> FuzzOutcome {
        var outcome = FuzzOutcome.refused("no helper took it")
        for helper in 0..<3 {
            let allowed = HelperArgumentsEntry.helperOptions[helper].options
            let declared: [[UInt8]]
            do { declared = try HelperConfigFile.options(from: file, allowed: allowed) } catch {
                if outcome != .accepted { outcome = .refused(error.description) }
                continue
            }
            check(declared.count % 2 == 0, "options come in pairs")
            for pair in stride(from: 0, to: declared.count, by: 2) {
                check(allowed.contains(text(declared[pair])), "a key the helper does not take")
                check(!declared[pair + 1].isEmpty && !declared[pair + 1].contains(0x0A), "an empty or multi-line value")
            }
            let commandLine = [Array("--socket-fd".utf8), Array("3".utf8)]
            let declaredOutcome = HelperArgumentsEntry.declare(commandLine + declared, helper: helper)
            if outcome != .accepted { outcome = declaredOutcome }
        }
        return outcome
    }
}
