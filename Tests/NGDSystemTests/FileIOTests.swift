import Foundation
import NGDSystem
import Testing

@Suite struct FileIOTests {
    static func scratch(_ tag: String) -> String {
        let dir = NSTemporaryDirectory() + "ngd-system-\(tag)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func aMissingFileIsNilAndOtherFailuresAreTypedWithTheCallAndPath() throws {
        let dir = Self.scratch("missing")
        #expect(try FileIO.readAll(path: dir + "/absent") == nil)
        try FileIO.writeAtomically([1], to: dir + "/file", directory: dir)
        do {
            _ = try FileIO.readAll(path: dir + "/file/below")
            Issue.record("read below a regular file")
        } catch { #expect(error.call == "open" && error.path == dir + "/file/below" && error.code == ENOTDIR) }
        // A directory is not a regular file.
        #expect(throws: SystemError.self) { try FileIO.readAll(path: dir) }
    }

    /// A FIFO at the path would block `open` (or `read`) forever; it is refused at once.
    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let path = Self.scratch("fifo") + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        do {
            _ = try FileIO.readAll(path: path)
            Issue.record("a FIFO was read")
        } catch { #expect(error.call == "open" && error.code == EINVAL) }
    }

    @Test func anAtomicWriteReplacesTheFileAndLeavesNoTemporary() throws {
        let dir = Self.scratch("atomic")
        let path = dir + "/f"
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // several read chunks
        try FileIO.writeAtomically([1, 2, 3], to: path, directory: dir)
        try FileIO.writeAtomically(big, to: path, directory: dir)
        #expect(try FileIO.readAll(path: path) == big)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["f"])
    }

    @Test func aFailedWriteNamesTheStepAndKeepsTheOldFile() throws {
        let dir = Self.scratch("readonly")
        let path = dir + "/f"
        try FileIO.writeAtomically([7], to: path, directory: dir)
        do {
            try FileIO.writeAtomically([8], to: path, directory: dir + "/no-such-dir")
            Issue.record("wrote into a missing directory")
        } catch { #expect(error.call == "open" && error.path == dir + "/no-such-dir" && error.code == ENOENT) }
        #expect(try FileIO.readAll(path: path) == [8] || FileIO.readAll(path: path) == [7])
        do {
            try FileIO.writeAtomically([9], to: dir + "/missing/f", directory: dir)
            Issue.record("wrote below a missing directory")
        } catch { #expect(error.call == "open" && error.path == dir + "/missing/f.tmp") }
    }

    @Test func systemCallRetriesNothingButEINTRAndReadsErrnoAtOnce() throws {
        var calls = 0
        let r = try systemCall("probe") { () -> Int32 in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 5
        }
        #expect(r == 5 && calls == 3)
        calls = 0
        #expect(throws: SystemError(call: "probe", path: "/x", code: EACCES)) {
            try systemCall("probe", path: "/x") { () -> Int in
                calls += 1
                errno = EACCES
                return -1
            }
        }
        #expect(calls == 1)
        #expect(SystemError(call: "open", path: "/x", code: ENOENT).description == "open /x: No such file or directory")
    }
}

@Suite struct ZlibTests {
    /// The CRC-32 check value of the ASCII digits 1…9 (the standard test vector).
    @Test func crc32OfTheCheckString() {
        #expect(Zlib.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Zlib.crc32([]) == 0)
    }

    @Test func aPlainFileReadsThroughTheGzipReader() throws {
        let path = FileIOTests.scratch("gz") + "/plain"
        try FileIO.writeAtomically(
            Array("hello".utf8), to: path, directory: (path as NSString).deletingLastPathComponent)
        let reader = try #require(Zlib.Reader(path: path))
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = buffer.withUnsafeMutableBytes { reader.read(into: $0) }
        #expect(Array(buffer[..<n]) == Array("hello".utf8))
        #expect(Zlib.Reader(path: path + "-absent") == nil)
    }
}
