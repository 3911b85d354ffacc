#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads and writes on file descriptors, every call through ``systemCall(_:path:_:)``.
public enum FileIO {
    /// The bytes of the regular file at `path`, or nil when there is no file there.
    /// - Throws: ``SystemError`` when it cannot be opened or read, or is not a regular file (a
    ///   FIFO or a device would block or never end).
    public static func readAll(path: String) throws(SystemError) -> [UInt8]? {
        let fd: Int32
        do { fd = try systemCall("open", path: path) { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) } } catch
            where error.code == ENOENT
        { return nil }
        defer { close(fd) }
        var info = stat()
        try systemCall("fstat", path: path) { fstat(fd, &info) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw SystemError(call: "open", path: path, code: EINVAL) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try systemCall("read", path: path) {
                chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }

    /// Writes all of `bytes` to `fd`, in as many calls as it takes.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, path: String?) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            offset += try systemCall("write", path: path) {
                write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            }
        }
    }

    /// Writes all of `text` to `fd` (standard output is 1, standard error 2), ignoring failures:
    /// for logs and progress lines, which must never stop the program.
    public static func emit(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { try? writeAll(UnsafeRawBufferPointer($0), to: fd, path: nil) }
    }

    /// Creates the file `path` with `mode` and writes `bytes` to it; never replaces a file.
    /// - Throws: ``SystemError`` (EEXIST when there is a file there already).
    public static func createNew(_ bytes: [UInt8], path: String, mode: mode_t) throws(SystemError) {
        let fd = try systemCall("open", path: path) { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
        defer { close(fd) }
        let written: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            Result { () throws(SystemError) in try writeAll(raw, to: fd, path: path) }
        }
        try written.get()
        try systemCall("fsync", path: path) { fsync(fd) }
    }

    /// Writes `bytes` to `path` so that a crash at any moment leaves either the old file or the
    /// new one, whole: a temporary file beside it, fsync, rename over it, fsync of the directory.
    /// - Throws: ``SystemError`` naming the step that failed; the temporary file is removed.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String) throws(SystemError) {
        let tmp = path + ".tmp"
        let fd = try systemCall("open", path: tmp) { open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        do throws(SystemError) {
            let written: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
                Result { () throws(SystemError) in try writeAll(raw, to: fd, path: tmp) }
            }
            try written.get()
            try systemCall("fsync", path: tmp) { fsync(fd) }
            close(fd)
            try systemCall("rename", path: tmp) { rename(tmp, path) }
        } catch {
            close(fd)  // a second close of a closed descriptor fails harmlessly with EBADF
            unlink(tmp)
            throw error
        }
        let dfd = try systemCall("open", path: directory) { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(dfd) }
        try systemCall("fsync", path: directory) { fsync(dfd) }
    }
}
