#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on which path (when there is one), and `errno`.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The call, e.g. `open` or `fsync`.
    public let call: String
    /// The file or socket it was made on, when there is one.
    public let path: String?
    /// The `errno` it left.
    public let code: Int32

    public init(call: String, path: String?, code: Int32) {
        self.call = call
        self.path = path
        self.code = code
    }

    /// The C library's text for ``code``, e.g. "No such file or directory".
    public var reason: String { String(cString: strerror(code)) }

    public var description: String { "\(call)\(path.map { " \($0)" } ?? ""): \(reason)" }
}

/// Runs one system call: retries it while it fails with `EINTR` (a signal such as SIGTERM
/// arrived), reads `errno` at once on any other failure and throws it typed. `body` returns the
/// call's result; a negative value is a failure.
///
/// Every system call outside libzmq goes through this (libzmq's go through `ZMQError.check`).
@discardableResult public func systemCall<Result: BinaryInteger>(
    _ call: String, path: String? = nil, _ body: () -> Result
) throws(SystemError) -> Result {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemError(call: call, path: path, code: code)
    }
}
