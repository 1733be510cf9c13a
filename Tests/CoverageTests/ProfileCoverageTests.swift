import Foundation
import Sandbox
import TestSupport
import Testing

/// Every allowed rule is needed (issue 13 §1): the scenarios run with the real filters under
/// strace, each call is matched against the real rule objects of the filters its thread had
/// loaded, and every rule must have been exercised or carry a declared unexercised path
/// whose test exists. `make profile-coverage` also runs it in log mode (drift after an upgrade).
/// BULKHEAD_COVERAGE_SECCOMP=log: every filter logs instead of killing.
@Suite(.serialized) struct ProfileCoverageTests {
    static let seccomp = ProcessInfo.processInfo.environment["BULKHEAD_COVERAGE_SECCOMP"]
    static let canTrace = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/strace")
        && access("/dev/kvm", R_OK | W_OK) == 0

    @Test(.enabled(if: canTrace, "needs root, /dev/kvm and strace (make deps)"))
    func everyRuleIsExercisedOrDeclaredAndNoCallIsOutsideTheRules() throws {
        let fixture = try CoverageFixture()
        var coverage = ProfileCoverage()
        for scenario in CoverageScenario.all {
            let threads = try TracedScenario(scenario: scenario, fixture: fixture, seccomp: Self.seccomp).trace()
            let parent: Role = if case .vmWithoutCgroup = scenario.kind { .parentKill } else { .parent }
            let calls = TraceReplay.attribute(threads: threads, parent: parent)
            #expect(!calls.isEmpty, "\(scenario): no confined call traced")
            coverage.add(calls, scenario: scenario.name)
        }
        let forbidden = Set(CoverageScenario.all.filter(\.forbidden).map(\.name))
        let report = coverage.report(expectingForbidden: forbidden)
        print(report)
        let file = URL(fileURLWithPath: BuiltProducts.directory).deletingLastPathComponent()
            .appendingPathComponent("profile-coverage-\(Self.seccomp ?? "kill").txt")
        try? report.write(to: file, atomically: true, encoding: .utf8)
        for role in Role.allCases {
            let unneeded = coverage.unjustified(in: role).map { "\($0.syscall) (\($0.reason))" }
            #expect(unneeded.isEmpty, "\(role.rawValue): nothing exercised \(unneeded); remove them or declare the path")
        }
        let drift = coverage.drift(expectingForbidden: forbidden).map(\.description).sorted()
        #expect(drift.isEmpty, "calls no rule allows (profile drift): \(drift)")
    }

    /// A declared unexercised path names a test (`Suite/function`) that exists in Tests/.
    @Test func everyDeclaredUnexercisedPathNamesATestThatExists() throws {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        var sources: [String] = []
        for case let file as String in FileManager.default.enumerator(atPath: tests.path)! where file.hasSuffix(".swift") {
            sources.append(try String(contentsOf: tests.appendingPathComponent(file), encoding: .utf8))
        }
        for role in Role.allCases {
            for rule in ProfileCoverage.rules(of: role) {
                guard let path = rule.unexercised else { continue }
                let parts = path.test.split(separator: "/")
                #expect(parts.count == 2, "\(role.rawValue) \(rule.syscall): \(path.test) is not Suite/function")
                guard parts.count == 2 else { continue }
                let found = sources.contains {
                    ($0.contains("struct \(parts[0])") || $0.contains("class \(parts[0])")) && $0.contains("func \(parts[1])(")
                }
                #expect(found, "\(role.rawValue) \(rule.syscall): no test \(path.test) for \"\(path.path)\"")
            }
        }
    }
}
