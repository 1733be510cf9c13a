import Sandbox
import Testing

/// malloc grows and trims its arenas under every role's filter: the main arena with brk
/// (helpers, the sealed parent, the worker's main thread), a thread's arena with mmap,
/// mprotect and madvise. How far a real run's allocations reach depends on where its heap
/// stood when it sealed, so the coverage run cannot promise to take this path; this does.
@Suite struct HeapGrowthTests {
    @Test(arguments: [Role.workerBase, .control, .vcpu, .io, .block, .net, .parent, .parentKill])
    func heapGrowsAndShrinksUnderEveryRole(_ role: Role) throws {
        let outcome = try runProbe(["--role", role.rawValue, "--grow-heap", "write"])
        #expect(outcome.end == .exited(0) && outcome.result == -9, "\(role.rawValue): \(outcome)")
    }
}
