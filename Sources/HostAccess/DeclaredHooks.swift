import SystemPackage
import Vocabulary

/// The exec helper's whole capability: the hooks the operator declared, and `run`.
///
/// At declaration each hook's name is checked (1…64 bytes of `A-Z a-z 0-9 _ . -`), its
/// program path must be canonical (`CanonicalPath`), reachable without following a link
/// (`PathWalk`), a regular file with an execute bit, not group- or world-writable; its
/// device and inode are recorded. Its fixed arguments are bounded (`HookArguments`).
///
/// `run` refuses an undeclared name and any extra argument the hook does not allow, checks
/// the program is still the recorded file, and runs it with `HookRunner`. Between that
/// check and execve(path) there is a window; the program's directory belongs to the
/// operator, and the check makes a swap visible rather than impossible.
public struct DeclaredHooks: Sendable {
    public static let maximumDeclarations = 32
    public static let maximumNameLength = Names.hookNameLength.upperBound

    struct Hook: Sendable {
        let declaration: HookDeclaration
        let program: CanonicalPath
        let identity: FileIdentity
    }

    public let limits: HookLimits
    private let hooks: [String: Hook]
    /// BULKHEAD_VM in each hook's environment (the helper's own `$BULKHEAD_VM`), if valid.
    public let vmName: String?

    public init(_ declarations: [HookDeclaration], limits: HookLimits = HookLimits(), vmName: String? = nil) throws(HookRefusal) {
        if declarations.count > Self.maximumDeclarations {
            throw .tooManyDeclarations(count: declarations.count, limit: Self.maximumDeclarations)
        }
        if limits.timeLimit <= .zero || limits.outputCap < 0 {
            throw .invalidDeclaration(hook: "*", reason: "the time limit must be positive and the output cap not negative")
        }
        var hooks: [String: Hook] = [:]
        for declaration in declarations {
            let name = declaration.name
            try Self.validateName(name)
            if hooks[name] != nil { throw .declaredTwice(hook: name) }
            let program: CanonicalPath
            do { program = try CanonicalPath(validating: declaration.program) } catch {
                throw .invalidProgramPath(hook: name, path: Array(declaration.program.utf8), reason: error)
            }
            try HookArguments.validateFixed(declaration.arguments, hook: name)
            if declaration.extraArgumentLimit < 0 || declaration.extraArgumentLimit > HookArguments.maximumExtraLimit {
                throw .invalidDeclaration(
                    hook: name,
                    reason: "extra argument limit \(declaration.extraArgumentLimit) is outside 0…\(HookArguments.maximumExtraLimit)")
            }
            let status = try Self.programStatus(program, hook: name)
            if status.identity.type != .regularFile {
                throw .programNotRegularFile(hook: name, type: status.identity.type)
            }
            if status.mode & 0o111 == 0 { throw .programNotExecutable(hook: name, mode: status.mode) }
            if status.mode & 0o022 != 0 { throw .programWritableByOthers(hook: name, mode: status.mode) }
            hooks[name] = Hook(declaration: declaration, program: program, identity: status.identity)
        }
        self.hooks = hooks
        self.limits = limits
        self.vmName = vmName.flatMap { (try? Self.validateName($0)) == nil ? nil : $0 }
    }

    /// The declared hook names, sorted.
    public var names: [String] { hooks.keys.sorted() }

    /// Runs a declared hook with its fixed arguments and, if it allows them, the validated
    /// `extraArguments` after them. Blocks until the hook has ended (at most the time
    /// limit plus a short drain) and every process of its group has been reaped.
    public func run(name: String, extraArguments: [String] = []) throws(HookRefusal) -> HookResult {
        let hook = try check(name: name, extraArguments: extraArguments)
        let found = try Self.programStatus(hook.program, hook: name).identity
        if found != hook.identity {
            throw .programChanged(hook: name, declared: hook.identity, found: found)
        }
        return try HookRunner.run(
            hook: name, program: hook.program, arguments: hook.declaration.arguments + extraArguments,
            environment: environment(name: name, extraArguments: extraArguments), limits: limits)
    }

    /// The request checks alone, without a system call (the exec server's share): the
    /// name is declared and the extra arguments are the ones it allows.
    @discardableResult
    func check(name: String, extraArguments: [String]) throws(HookRefusal) -> Hook {
        try Self.validateName(name)
        guard let hook = hooks[name] else { throw .notDeclared(hook: name) }
        try HookArguments.validateExtra(
            extraArguments, hook: name, limit: hook.declaration.extraArgumentLimit)
        return hook
    }

    /// `check` for callers outside HostAccess.
    public func validate(name: String, extraArguments: [String]) throws(HookRefusal) {
        try check(name: name, extraArguments: extraArguments)
    }

    /// `PATH=/usr/bin:/bin`, BULKHEAD_PHASE (the hook's name), BULKHEAD_VM when known, and
    /// for a tap phase BULKHEAD_TAP (its extra argument, already checked): nothing else.
    func environment(name: String, extraArguments: [String]) -> [String] {
        var environment = HookRunner.environment + ["BULKHEAD_PHASE=\(name)"]
        if let vmName { environment.append("BULKHEAD_VM=\(vmName)") }
        if HookPhase(rawValue: name)?.takesTap == true, let tap = extraArguments.first {
            environment.append("BULKHEAD_TAP=\(tap)")
        }
        return environment
    }

    private static func validateName(_ name: String) throws(HookRefusal) {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { throw .invalidName(name: bytes, reason: "the name is empty") }
        if bytes.count > maximumNameLength {
            throw .invalidName(name: bytes, reason: "the name is \(bytes.count) bytes; the limit is \(maximumNameLength)")
        }
        if let offset = bytes.firstIndex(where: { !Names.isNameByte($0) }) {
            throw .invalidName(name: bytes, reason: "byte \(offset + 1) is not one of A-Z a-z 0-9 _ . -")
        }
    }

    /// Walks to the program without following links (last component O_PATH) and fstat()s it.
    private static func programStatus(_ program: CanonicalPath, hook: String) throws(HookRefusal) -> FileStatus {
        let descriptor: FileDescriptor
        do { descriptor = try PathWalk.open(program, last: .identify) } catch {
            throw .programWalkFailed(
                hook: hook, at: error.prefix, lastComponent: error.isLastComponent, errno: error.errno)
        }
        defer { try? descriptor.close() }
        do { return try FileStatus.of(descriptor) } catch {
            throw .systemCallFailed(hook: hook, call: "fstat", errno: error)
        }
    }
}
