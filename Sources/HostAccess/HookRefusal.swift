import SystemPackage

/// Why the exec helper refused to declare or run a hook; `description` says it in words.
public enum HookRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(name: [UInt8], reason: String)
    case declaredTwice(hook: String)
    case tooManyDeclarations(count: Int, limit: Int)
    case notDeclared(hook: String)
    /// A declaration's arguments or limits are out of bounds.
    case invalidDeclaration(hook: String, reason: String)
    case invalidProgramPath(hook: String, path: [UInt8], reason: PathRefusal)
    /// The component-by-component walk to the program stopped (a link, a missing name…).
    case programWalkFailed(hook: String, at: [UInt8], lastComponent: Bool, errno: Errno)
    case programNotRegularFile(hook: String, type: FileType)
    case programNotExecutable(hook: String, mode: UInt32)
    /// Group- or world-writable: anyone could replace what the hook runs.
    case programWritableByOthers(hook: String, mode: UInt32)
    /// The program file is not the one checked at declaration.
    case programChanged(hook: String, declared: FileIdentity, found: FileIdentity)
    case extraArgumentsNotAllowed(hook: String)
    case tooManyExtraArguments(hook: String, count: Int, limit: Int)
    case extraArgumentRefused(hook: String, index: Int, argument: [UInt8], reason: String)
    /// A host call needed to start the hook failed (pipe2, fork, pidfd_open, openat, fstat).
    case systemCallFailed(hook: String, call: String, errno: Errno)
    /// execve itself failed in the child.
    case execFailed(hook: String, errno: Errno)

    public var description: String {
        switch self {
        case .invalidName(let name, let reason):
            return "refused hook name \(ByteText.quoted(name)): \(reason)"
        case .declaredTwice(let hook): return "refused declaration: hook \"\(hook)\" is declared twice"
        case .tooManyDeclarations(let count, let limit):
            return "refused declaration: \(count) hooks, the limit is \(limit)"
        case .notDeclared(let hook): return "refused hook \(ByteText.quoted(hook.utf8)): not a declared hook"
        case .invalidDeclaration(let hook, let reason): return "refused declaration of hook \"\(hook)\": \(reason)"
        case .invalidProgramPath(let hook, let path, let reason):
            return "refused hook \"\(hook)\": program path \(ByteText.quoted(path)): \(reason)"
        case .programWalkFailed(let hook, let at, let last, let errno):
            let failure = PathWalk.Failure(prefix: at, isLastComponent: last, errno: errno)
            return "refused hook \"\(hook)\": \(failure.reason)"
        case .programNotRegularFile(let hook, let type):
            return "refused hook \"\(hook)\": the program is \(type), not a regular file"
        case .programNotExecutable(let hook, let mode):
            return "refused hook \"\(hook)\": the program is not executable (mode \(String(mode & 0o7777, radix: 8)))"
        case .programWritableByOthers(let hook, let mode):
            return "refused hook \"\(hook)\": the program is group- or world-writable (mode \(String(mode & 0o7777, radix: 8)))"
        case .programChanged(let hook, let declared, let found):
            return "refused hook \"\(hook)\": the program changed since declaration (declared \(declared), found \(found))"
        case .extraArgumentsNotAllowed(let hook):
            return "refused hook \"\(hook)\": it takes no extra arguments, only its declared ones"
        case .tooManyExtraArguments(let hook, let count, let limit):
            return "refused hook \"\(hook)\": \(count) extra arguments; it allows \(limit)"
        case .extraArgumentRefused(let hook, let index, let argument, let reason):
            return "refused hook \"\(hook)\": extra argument \(index + 1) \(ByteText.quoted(argument)): \(reason)"
        case .systemCallFailed(let hook, let call, let errno):
            return "hook \"\(hook)\" not started: \(call) failed: \(errno)"
        case .execFailed(let hook, let errno):
            return "hook \"\(hook)\" not started: execve failed: \(errno)"
        }
    }
}
