import HelperSupport
import Testing

/// The `--config` file format: the helper's own options, one `KEY VALUE` per line.
@Suite struct HelperConfigFileTests {
    let allowed: Set<String> = ["--file"]

    func parse(_ text: String) throws -> [String] {
        try HelperConfigFile.options(from: Array(text.utf8), allowed: allowed).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func configLinesBecomeTheSameOptionsAsTheCommandLine() throws {
        #expect(try parse("# disks\n\nfile ro:/a\nfile rw:/b c \n") == ["--file", "ro:/a", "--file", "rw:/b c "])
    }

    @Test func commonAndUnknownKeysAreRefusedWithTheirLineNumber() {
        for (text, line) in [("socket-fd 3\n", 1), ("file ro:/a\nseccomp none\n", 2), ("\nFILE ro:/a", 2), ("listen x", 1), ("config /etc/x", 1)] {
            #expect(throws: HelperArguments.Problem.self) { _ = try parse(text) }
            do { _ = try parse(text) } catch { #expect("\(error)".contains("line \(line):"), "\(error)") }
        }
    }

    @Test func nulBytesLongLinesMissingValuesAndHugeFilesAreRefused() {
        let bad: [[UInt8]] = [
            Array("file ro:/a\0b\n".utf8), Array(("file ro:/" + String(repeating: "a", count: 5000)).utf8),
            Array("file\n".utf8), Array("file \n".utf8), [UInt8](repeating: 0x23, count: 70_000),
        ]
        for bytes in bad {
            #expect(throws: HelperArguments.Problem.self) { _ = try HelperConfigFile.options(from: bytes, allowed: allowed) }
        }
    }

    @Test func bytesThatAreNotUTF8ArePassedThroughUnchanged() throws {
        let options = try HelperConfigFile.options(from: Array("file ro:/x".utf8) + [0xFF, 0x0A], allowed: allowed)
        #expect(options == [Array("--file".utf8), Array("ro:/x".utf8) + [0xFF]])
    }

    @Test func listenTakesNoValueAndExcludesSocketFD() throws {
        let listening = try HelperArguments([Array("--listen".utf8), Array("--file".utf8), Array("ro:/a".utf8)], options: allowed)
        #expect(listening.listens && listening.socketFD == 3)
        #expect(throws: HelperArguments.Problem.self) {
            _ = try HelperArguments(["--listen", "--socket-fd", "3"].map { Array($0.utf8) }, options: allowed)
        }
    }
}
