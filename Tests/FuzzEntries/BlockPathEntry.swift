import Glibc
import HostAccess

/// The block helper's path checks (Sources/HostAccess, exactly what bulkhead-block calls):
/// `CanonicalPath` and `DeclaredFiles.open` against a fixture of declared files. Input:
/// byte 0 picks the access (even: read-only, odd: read-write), the rest is the path the
/// worker asks for; a leading `~` stands for the fixture directory (its name holds the
/// pid, so seeds can still name the declared files). Verdicts: an accepted path has none of the refused spellings, and an
/// open succeeds only for a declared path, byte for byte, with an access it allows.
public enum BlockPathEntry {
    public static func run(_ input: [UInt8]) -> FuzzOutcome {
        guard let first = input.first else { return .refused("empty input") }
        let access: FileAccess = first & 1 == 0 ? .readOnly : .readWrite
        var path = Array(input.dropFirst())
        if path.first == UInt8(ascii: "~") { path = Array(Fixture.shared.directory.utf8) + path.dropFirst() }

        let canonical: CanonicalPath
        do { canonical = try CanonicalPath(validating: path) } catch {
            check(isCanonical(path) == false, "refused a canonical path \(error)")
            _ = try? Fixture.shared.files.open(path: path, access: access).descriptor.close()
            return .refused(error.description)
        }
        check(isCanonical(path), "accepted a non-canonical path")
        check(canonical.bytes == path, "the accepted path is the given one")

        let opened: OpenedFile
        do { opened = try Fixture.shared.files.open(path: path, access: access) } catch {
            return .refused(error.description)
        }
        defer { try? opened.descriptor.close() }
        let declared = Fixture.shared.declarations.first { $0.path == path }
        check(declared != nil, "opened an undeclared path")
        check(access == .readOnly || declared?.access == .readWrite, "opened read-write a file declared read-only")
        return .accepted
    }

    /// An independent statement of the canonical form (PathValidation.swift's comment).
    static func isCanonical(_ path: [UInt8]) -> Bool {
        guard path.count <= 4095, path.first == UInt8(ascii: "/"), !path.contains(0) else { return false }
        let names = path.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        return names.allSatisfy { name in
            !name.isEmpty && name.count <= 255 && !name.elementsEqual([0x2E]) && !name.elementsEqual([0x2E, 0x2E])
        }
    }

    /// Files under /tmp/bulkhead-fuzz-PID: `disk.img` declared read-write, `kernel` declared
    /// read-only. Removed when the process exits normally.
    final class Fixture: Sendable {
        static let shared = Fixture()
        static let names = ["disk.img", "kernel"]
        let directory = "/tmp/bulkhead-fuzz-\(getpid())"
        let declarations: [FileDeclaration]
        let files: DeclaredFiles

        private init() {
            mkdir(directory, 0o700)
            atexit {
                let directory = "/tmp/bulkhead-fuzz-\(getpid())"
                for name in Fixture.names { unlink("\(directory)/\(name)") }
                rmdir(directory)
            }
            for name in Self.names {
                let fd = open("\(directory)/\(name)", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                precondition(fd >= 0, "cannot create the fuzz fixture in \(directory)")
                _ = ftruncate(fd, 4096)
                close(fd)
            }
            declarations = [
                FileDeclaration(path: Array("\(directory)/disk.img".utf8), access: .readWrite),
                FileDeclaration(path: Array("\(directory)/kernel".utf8), access: .readOnly),
            ]
            do { files = try DeclaredFiles(declarations) } catch { fatalError("fuzz fixture: \(error)") }
        }
    }
}
