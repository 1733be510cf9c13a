import Foundation
import Glibc
import SystemPackage
import Testing

@testable import HostAccess

/// The path-trick corpus: every trick is refused with a reason and leaves no fd open.
extension HostAccessSuite {
    @Suite struct BlockPathTricks {
        /// Declares one read-write file `disk.img` in a fresh fixture.
        func withDeclaredDisk(_ body: (Fixture, DeclaredFiles) throws -> Void) throws {
            try withFixture { fixture in
                let disk = try fixture.file("disk.img")
                let files = try DeclaredFiles([FileDeclaration(path: disk, access: .readWrite)])
                try body(fixture, files)
            }
        }

        /// Expects a path refusal at both declaration and open, with the given reason.
        func expectInvalid(_ path: [UInt8], _ reason: PathRefusal, files: DeclaredFiles, fixture: Fixture,
                           sourceLocation: SourceLocation = #_sourceLocation) {
            let declared = refusal(FileRefusal.self, fixture: fixture, sourceLocation: sourceLocation) {
                _ = try DeclaredFiles([FileDeclaration(path: path, access: .readOnly)])
            }
            #expect(declared == .invalidPath(path: path, reason: reason), sourceLocation: sourceLocation)
            let opened = refusal(FileRefusal.self, fixture: fixture, sourceLocation: sourceLocation) {
                _ = try files.open(path: path, access: .readOnly)
            }
            #expect(opened == .invalidPath(path: path, reason: reason), sourceLocation: sourceLocation)
        }

        func walkFailure(_ refusal: FileRefusal?) -> (at: String, last: Bool, errno: Errno)? {
            guard case .walkFailed(_, let at, let last, let errno)? = refusal else { return nil }
            return (String(decoding: at, as: UTF8.self), last, errno)
        }

        @Test func blockRefusesDotDotSegment() throws {
            try withDeclaredDisk { fixture, files in
                try fixture.directory("sub")
                expectInvalid(Array(fixture.path("sub/../disk.img").utf8), .dotDotComponent(index: 3),
                              files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesRelativePath() throws {
            try withDeclaredDisk { fixture, files in
                let relative = String(fixture.path("disk.img").dropFirst())
                expectInvalid(Array(relative.utf8), .notAbsolute, files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesTrailingSlash() throws {
            try withDeclaredDisk { fixture, files in
                expectInvalid(Array((fixture.path("disk.img") + "/").utf8), .trailingSlash,
                              files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesDoubleSlash() throws {
            try withDeclaredDisk { fixture, files in
                expectInvalid(Array((fixture.root + "//disk.img").utf8), .emptyComponent(index: 2),
                              files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesLeadingDoubleSlash() throws {
            try withDeclaredDisk { fixture, files in
                expectInvalid(Array(("/" + fixture.path("disk.img")).utf8), .emptyComponent(index: 0),
                              files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesDotComponent() throws {
            try withDeclaredDisk { fixture, files in
                expectInvalid(Array((fixture.root + "/./disk.img").utf8), .dotComponent(index: 2),
                              files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesNulByteInPath() throws {
            try withDeclaredDisk { fixture, files in
                let path = Array(fixture.path("disk.img").utf8) + [0] + Array("/x".utf8)
                expectInvalid(path, .containsNUL(offset: fixture.path("disk.img").utf8.count),
                              files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesOverlongPath() throws {
            try withDeclaredDisk { fixture, files in
                var path = Array(fixture.root.utf8)
                while path.count <= CanonicalPath.maximumLength { path += Array("/abcdefgh".utf8) }
                expectInvalid(path, .tooLong(length: path.count, limit: 4095), files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesOverlongComponent() throws {
            try withDeclaredDisk { fixture, files in
                let path = Array((fixture.root + "/" + String(repeating: "a", count: 256)).utf8)
                expectInvalid(path, .componentTooLong(index: 2, length: 256, limit: 255),
                              files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesEmptyPath() throws {
            try withDeclaredDisk { fixture, files in
                expectInvalid([], .empty, files: files, fixture: fixture)
            }
        }

        @Test func blockRefusesPathThatIsOnlySlashes() throws {
            try withDeclaredDisk { fixture, files in
                expectInvalid(Array("/".utf8), .rootOnly, files: files, fixture: fixture)
                expectInvalid(Array("///".utf8), .rootOnly, files: files, fixture: fixture)
            }
        }

        /// A regular file on proc or sysfs is kernel state, not a disk (a rw /sys/power/state,
        /// served with enough rights, would let the guest suspend the host).
        @Test(arguments: [("/proc/1/environ", FileAccess.readOnly, "proc"), ("/sys/power/state", .readWrite, "sysfs")])
        func blockRefusesFilesOnKernelInterfaces(path: String, access: FileAccess, fileSystem: String) throws {
            let refused = refusal(FileRefusal.self) { _ = try DeclaredFiles([FileDeclaration(path: path, access: access)]) }
            #expect(refused == .kernelInterface(path: canonical(path), fileSystem: fileSystem))
            #expect(String(describing: refused!).contains("a kernel interface"))
        }

        @Test func blockRefusesSymlinkAsLastComponent() throws {
            try withFixture { fixture in
                try fixture.file("secret")
                let link = try fixture.symlink("disk.img", to: fixture.path("secret"))
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: link, access: .readOnly)])
                }
                // The declaration walk opens the last name O_PATH|O_NOFOLLOW: that is the link itself.
                #expect(refused == .unsupportedType(path: canonical(link), type: .symbolicLink))
                #expect(String(describing: refused!).contains("symbolic link"))
            }
        }

        @Test func blockRefusesSymlinkInMiddleComponent() throws {
            try withFixture { fixture in
                try fixture.directory("real")
                try fixture.file("real/disk.img")
                try fixture.symlink("alias", to: fixture.path("real"))
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: fixture.path("alias/disk.img"), access: .readOnly)])
                }
                let failure = walkFailure(refused)
                #expect(failure?.at == fixture.path("alias") && failure?.last == false && failure?.errno == .notDirectory)
            }
        }

        @Test func blockRefusesUndeclaredSymlinkToDeclaredFile() throws {
            try withDeclaredDisk { fixture, files in
                let alias = try fixture.symlink("alias.img", to: fixture.path("disk.img"))
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: alias, access: .readOnly)
                }
                #expect(refused == .notDeclared(path: canonical(alias)))
            }
        }

        @Test func blockRefusesSymlinkSwappedInAfterDeclaration() throws {
            try withDeclaredDisk { fixture, files in
                try fixture.file("secret")
                try fixture.symlink("swap", to: fixture.path("secret"))
                try fixture.rename("swap", "disk.img")
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: fixture.path("disk.img"), access: .readWrite)
                }
                #expect(walkFailure(refused)?.errno == .tooManySymbolicLinkLevels)
            }
        }

        @Test func blockRefusesFileRenamedOverAfterDeclaration() throws {
            try withDeclaredDisk { fixture, files in
                try fixture.file("other", contents: "not the declared disk")
                try fixture.rename("other", "disk.img")
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: fixture.path("disk.img"), access: .readOnly)
                }
                guard case .changedSinceDeclaration(_, let declared, let found)? = refused else {
                    Issue.record("expected changedSinceDeclaration, got \(String(describing: refused))")
                    return
                }
                #expect(declared.inode != found.inode)
            }
        }

        @Test func blockRefusesHardLinkToUndeclaredFileSwappedIn() throws {
            try withDeclaredDisk { fixture, files in
                let secret = try fixture.file("secret", contents: "undeclared")
                #expect(unlink(fixture.path("disk.img")) == 0)
                #expect(link(secret, fixture.path("disk.img")) == 0)
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: fixture.path("disk.img"), access: .readWrite)
                }
                guard case .changedSinceDeclaration? = refused else {
                    Issue.record("expected changedSinceDeclaration, got \(String(describing: refused))")
                    return
                }
            }
        }

        @Test func blockRefusesUndeclaredHardLinkOfDeclaredFile() throws {
            try withDeclaredDisk { fixture, files in
                #expect(link(fixture.path("disk.img"), fixture.path("second-name.img")) == 0)
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: fixture.path("second-name.img"), access: .readOnly)
                }
                #expect(refused == .notDeclared(path: canonical(fixture.path("second-name.img"))))
            }
        }

        @Test func blockRefusesTwoDeclaredNamesOfOneFile() throws {
            try withFixture { fixture in
                let disk = try fixture.file("disk.img")
                let other = fixture.path("same.img")
                #expect(link(disk, other) == 0)
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([
                        FileDeclaration(path: disk, access: .readOnly), FileDeclaration(path: other, access: .readWrite),
                    ])
                }
                guard case .sameFileAs? = refused else {
                    Issue.record("expected sameFileAs, got \(String(describing: refused))")
                    return
                }
            }
        }

        @Test func blockRefusesPathDeclaredTwice() throws {
            try withFixture { fixture in
                let disk = try fixture.file("disk.img")
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([
                        FileDeclaration(path: disk, access: .readOnly), FileDeclaration(path: disk, access: .readWrite),
                    ])
                }
                #expect(refused == .declaredTwice(path: canonical(disk)))
            }
        }

        @Test func blockRefusesProcSelfFdMagicLink() throws {
            try withDeclaredDisk { fixture, files in
                let fd = open(fixture.path("disk.img"), O_RDONLY | O_CLOEXEC)
                defer { close(fd) }
                let magic = "/proc/self/fd/\(fd)"
                let declared = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: magic, access: .readOnly)])
                }
                #expect(walkFailure(declared)?.at == "/proc/self")
                let opened = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: magic, access: .readOnly)
                }
                #expect(opened == .notDeclared(path: canonical(magic)))
            }
        }

        @Test func blockRefusesProcPidFdMagicLinkAsLastComponent() throws {
            try withFixture { fixture in
                try fixture.file("disk.img")
                let fd = open(fixture.path("disk.img"), O_RDONLY | O_CLOEXEC)
                defer { close(fd) }
                let magic = "/proc/\(getpid())/fd/\(fd)"
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: magic, access: .readOnly)])
                }
                #expect(refused == .unsupportedType(path: canonical(magic), type: .symbolicLink))
            }
        }

        @Test func blockRefusesProcSelfRootMagicLink() throws {
            try withFixture { fixture in
                try fixture.file("disk.img")
                let viaRoot = "/proc/\(getpid())/root" + fixture.path("disk.img")
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: viaRoot, access: .readOnly)])
                }
                #expect(walkFailure(refused)?.at == "/proc/\(getpid())/root")
                let viaSelf = "/proc/self/root" + fixture.path("disk.img")
                let refusedSelf = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: viaSelf, access: .readOnly)])
                }
                #expect(walkFailure(refusedSelf)?.at == "/proc/self")
            }
        }

        @Test func blockRefusesFifoAtDeclaration() throws {
            try withFixture { fixture in
                #expect(mkfifo(fixture.path("pipe"), 0o600) == 0)
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: fixture.path("pipe"), access: .readOnly)])
                }
                #expect(refused == .unsupportedType(path: canonical(fixture.path("pipe")), type: .fifo))
            }
        }

        @Test func blockRefusesFifoSwappedInWithoutBlocking() throws {
            try withDeclaredDisk { fixture, files in
                #expect(mkfifo(fixture.path("pipe"), 0o600) == 0)
                try fixture.rename("pipe", "disk.img")
                let start = ContinuousClock.now
                for access in [FileAccess.readOnly, .readWrite] {
                    let refused = refusal(FileRefusal.self, fixture: fixture) {
                        _ = try files.open(path: fixture.path("disk.img"), access: access)
                    }
                    guard case .changedSinceDeclaration(_, _, let found)? = refused else {
                        Issue.record("expected changedSinceDeclaration, got \(String(describing: refused))")
                        return
                    }
                    #expect(found.type == .fifo)
                }
                #expect(ContinuousClock.now - start < .seconds(2))
            }
        }

        @Test func blockRefusesDirectory() throws {
            try withFixture { fixture in
                let directory = try fixture.directory("dir.img")
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: directory, access: .readOnly)])
                }
                #expect(refused == .unsupportedType(path: canonical(directory), type: .directory))
            }
        }

        @Test func blockRefusesDirectorySwappedInAfterDeclaration() throws {
            try withDeclaredDisk { fixture, files in
                #expect(unlink(fixture.path("disk.img")) == 0)
                try fixture.directory("disk.img")
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: fixture.path("disk.img"), access: .readOnly)
                }
                guard case .changedSinceDeclaration(_, _, let found)? = refused else {
                    Issue.record("expected changedSinceDeclaration, got \(String(describing: refused))")
                    return
                }
                #expect(found.type == .directory)
            }
        }

        @Test func blockRefusesCharacterDevice() throws {
            try withFixture { fixture in
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: "/dev/null", access: .readWrite)])
                }
                #expect(refused == .unsupportedType(path: canonical("/dev/null"), type: .characterDevice))
            }
        }

        @Test func blockRefusesUnixSocketFile() throws {
            try withFixture { fixture in
                let socketPath = fixture.path("control.sock")
                let made = try host([
                    "python3", "-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", socketPath,
                ])
                #expect(made.status == 0, "\(made.output)")
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: socketPath, access: .readOnly)])
                }
                #expect(refused == .unsupportedType(path: canonical(socketPath), type: .socket))
            }
        }

        @Test func blockRefusesReadWriteOfReadOnlyDeclaration() throws {
            try withFixture { fixture in
                let kernel = try fixture.file("vmlinux")
                let files = try DeclaredFiles([FileDeclaration(path: kernel, access: .readOnly)])
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: kernel, access: .readWrite)
                }
                #expect(refused == .readWriteNotDeclared(path: canonical(kernel)))
            }
        }

        @Test func blockRefusesUndeclaredNonUTF8Name() throws {
            try withDeclaredDisk { fixture, files in
                let name = Array(fixture.root.utf8) + [UInt8(ascii: "/"), 0xFF, 0xFE, UInt8(ascii: "x")]
                #expect(createFile(bytes: name))
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: name, access: .readOnly)
                }
                #expect(refused == .notDeclared(path: canonical(name)))
                #expect(String(describing: refused!).contains("\\xFF\\xFE"))
            }
        }

        @Test func blockRefusesDeclaredNameInAnotherDirectory() throws {
            try withFixture { fixture in
                try fixture.directory("vm1")
                try fixture.directory("vm2")
                let declared = try fixture.file("vm1/disk.img")
                try fixture.file("vm2/disk.img")
                let files = try DeclaredFiles([FileDeclaration(path: declared, access: .readWrite)])
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: fixture.path("vm2/disk.img"), access: .readWrite)
                }
                #expect(refused == .notDeclared(path: canonical(fixture.path("vm2/disk.img"))))
            }
        }

        /// The declared file's directory is held from start-up (HeldDirectory): whatever is put
        /// at its path afterwards, a link or another directory with a look-alike, is not
        /// followed; the open still names the directory the walk checked, wherever it went.
        @Test(arguments: [true, false])
        func aParentDirectoryReplacedAfterDeclarationIsNotFollowed(bySymlink: Bool) throws {
            try withFixture { fixture in
                try fixture.directory("vm")
                let disk = try fixture.file("vm/disk.img", contents: "the declared disk")
                let files = try DeclaredFiles([FileDeclaration(path: disk, access: .readWrite)])
                try fixture.rename("vm", "vm-moved")
                try fixture.directory("look-alike")
                try fixture.file("look-alike/disk.img", contents: "a look-alike")
                if bySymlink {
                    try fixture.symlink("vm", to: fixture.path("look-alike"))
                } else {
                    try fixture.rename("look-alike", "vm")
                }
                let (opened, leaked) = try descriptorsLeaked(fixture: fixture) { () throws -> String in
                    let file = try files.open(path: disk, access: .readWrite)
                    defer { try? file.descriptor.close() }
                    #expect(file.identity == files.files[0].identity)
                    return try contents(of: file.descriptor)
                }
                #expect(opened == "the declared disk")
                #expect(leaked.isEmpty, "\(leaked)")
            }
        }

        /// The held directory does not loosen the last component: a file renamed over the
        /// declared name in the moved directory is still refused.
        @Test func aFileReplacedInTheMovedDirectoryIsStillRefused() throws {
            try withFixture { fixture in
                try fixture.directory("vm")
                let disk = try fixture.file("vm/disk.img")
                let files = try DeclaredFiles([FileDeclaration(path: disk, access: .readOnly)])
                try fixture.rename("vm", "vm-moved")
                try fixture.file("vm-moved/other", contents: "not the declared disk")
                try fixture.rename("vm-moved/other", "vm-moved/disk.img")
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: disk, access: .readOnly)
                }
                guard case .changedSinceDeclaration? = refused else {
                    Issue.record("expected changedSinceDeclaration, got \(String(describing: refused))")
                    return
                }
            }
        }

        /// Declared files in one directory share its held fd; a declaration that fails holds none.
        @Test func oneHeldDirectoryPerDirectoryAndNoneAfterARefusal() throws {
            try withFixture { fixture in
                let first = try fixture.file("a.img")
                let second = try fixture.file("b.img")
                try fixture.directory("sub")
                let third = try fixture.file("sub/c.img")
                let (files, _) = try descriptorsLeaked(fixture: fixture) {
                    try DeclaredFiles([first, second, third].map { FileDeclaration(path: $0, access: .readOnly) })
                }
                #expect(files.files[0].directory === files.files[1].directory)
                #expect(files.files[2].directory !== files.files[0].directory)
                #expect(files.files[0].directory.identity.type == .directory)
                let (_, leaked) = descriptorsLeaked(fixture: fixture) {
                    _ = try? DeclaredFiles([FileDeclaration(path: first, access: .readOnly), FileDeclaration(path: fixture.path("missing"), access: .readOnly)])
                }
                #expect(leaked.isEmpty, "\(leaked)")
            }
        }

        @Test func blockRefusesCaseVariationOfDeclaredPath() throws {
            try withFixture { fixture in
                let declared = try fixture.file("Disk.img")
                try fixture.file("disk.img")
                let files = try DeclaredFiles([FileDeclaration(path: declared, access: .readOnly)])
                for variant in ["disk.img", "DISK.IMG", "Disk.IMG"] {
                    let refused = refusal(FileRefusal.self, fixture: fixture) {
                        _ = try files.open(path: fixture.path(variant), access: .readOnly)
                    }
                    #expect(refused == .notDeclared(path: canonical(fixture.path(variant))))
                }
            }
        }

        @Test func blockRefusesRegularFileAsMiddleComponent() throws {
            try withDeclaredDisk { fixture, files in
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: fixture.path("disk.img/inner"), access: .readOnly)])
                }
                let failure = walkFailure(refused)
                #expect(failure?.at == fixture.path("disk.img") && failure?.errno == .notDirectory)
            }
        }

        @Test func blockRefusesDeclaredFileDeletedAfterDeclaration() throws {
            try withDeclaredDisk { fixture, files in
                #expect(unlink(fixture.path("disk.img")) == 0)
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try files.open(path: fixture.path("disk.img"), access: .readOnly)
                }
                #expect(walkFailure(refused)?.errno == .noSuchFileOrDirectory)
            }
        }

        @Test func blockRefusesMissingFileAtDeclaration() throws {
            try withFixture { fixture in
                let refused = refusal(FileRefusal.self, fixture: fixture) {
                    _ = try DeclaredFiles([FileDeclaration(path: fixture.path("absent.img"), access: .readOnly)])
                }
                let failure = walkFailure(refused)
                #expect(failure?.at == fixture.path("absent.img") && failure?.errno == .noSuchFileOrDirectory)
            }
        }

        @Test func blockRefusesTooManyDeclarations() throws {
            try withFixture { fixture in
                let many = (0...DeclaredFiles.maximumDeclarations).map {
                    FileDeclaration(path: fixture.path("f\($0)"), access: .readOnly)
                }
                let refused = refusal(FileRefusal.self, fixture: fixture) { _ = try DeclaredFiles(many) }
                #expect(refused == .tooManyDeclarations(count: many.count, limit: DeclaredFiles.maximumDeclarations))
            }
        }
    }
}

/// Creates a file at a path given as raw bytes (possibly not UTF-8), through an O_CLOEXEC fd.
func createFile(bytes: [UInt8]) -> Bool {
    let fd = (bytes + [0]).withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
    }
    if fd < 0 { return false }
    close(fd)
    return true
}
