import Foundation
import FuzzEntries
import Testing

/// Every committed fuzz input (Tests/FuzzInputs/TARGET/: the seed corpus and every crash
/// reproducer) through the same entry the libFuzzer target calls. An input that traps
/// ends this test process: that is the failure. Seeds also have a verdict, by name:
/// `seed-*-refused` must be refused, every other seed accepted. Crash reproducers
/// (`crash-*`, `timeout-*`) must return; `ReproducerTests` checks what each fix answers.
@Suite struct FuzzInputTests {
    static let inputs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("FuzzInputs")

    static func files(of target: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(
            at: inputs.appendingPathComponent(target), includingPropertiesForKeys: nil
        ).filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    @Test(arguments: FuzzTarget.all.map(\.name))
    func everyCommittedInputRunsWithoutATrap(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let files = try Self.files(of: name)
        #expect(files.count >= 3, "\(name): a seed corpus of a few valid inputs")
        for file in files {
            let input = file.lastPathComponent
            let outcome = target.entry(Array(try Data(contentsOf: file)))
            guard input.hasPrefix("seed-") else { continue }
            if input.hasSuffix("-refused") {
                #expect(outcome != .accepted, "\(name)/\(input) was accepted")
            } else {
                #expect(outcome == .accepted, "\(name)/\(input): \(outcome)")
            }
        }
    }

    @Test func everyInputFolderBelongsToATarget() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.inputs.path).filter { !$0.hasPrefix(".") }
        #expect(Set(folders) == Set(FuzzTarget.all.map(\.name)))
    }
}
