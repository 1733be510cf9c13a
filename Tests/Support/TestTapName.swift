import Glibc
import Synchronization

private let tapsNamed = Atomic<Int>(0)

/// A tap name no other test uses, in this process or another: `prefix`, this process's pid
/// and a count of the names handed out here (every suite runs in one test process, so the
/// pid alone is shared by all of them). At most 15 bytes, as IFNAMSIZ allows.
public func uniqueTapName(_ prefix: String) -> String {
    precondition(prefix.utf8.count <= 4, "a tap name has 15 bytes: the prefix gets at most 4")
    let count = tapsNamed.add(1, ordering: .relaxed).newValue
    return "\(prefix)\(getpid() % 100_000)n\(count % 1000)"
}
