import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// A failed libzmq call: which call, on which endpoint or option when known, and the errno.
public struct ZMQError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The libzmq function that failed, e.g. `zmq_bind`.
    public let call: String
    /// What it was acting on (an endpoint, an option name), or "" when nothing more is known.
    public let context: String
    /// The errno that `zmq_errno()` returned right after the call.
    public let code: Int32

    public init(call: String, context: String = "", code: Int32) {
        self.call = call
        self.context = context
        self.code = code
    }

    /// True when the context is shutting down (ETERM): the owner should close its sockets and stop.
    public var isTerminated: Bool { code == ETERM }

    public var description: String {
        let what = String(cString: zmq_strerror(code))
        return context.isEmpty
            ? "\(call) failed: \(what) (errno \(code))" : "\(call) \(context) failed: \(what) (errno \(code))"
    }
}

/// What a non-blocking call did.
public enum ZMQIOResult<Value> {
    /// The call completed.
    case done(Value)
    /// EAGAIN: nothing to receive, or the send would block (high-water mark reached).
    case wouldBlock
}

/// The one wrapper every libzmq call goes through (after `NIOPosix/System.swift`'s `syscall`):
/// runs `body`, and when it returns -1 reads `zmq_errno()` at once, retries on EINTR, turns
/// EAGAIN into ``ZMQIOResult/wouldBlock`` and throws a ``ZMQError`` otherwise (ETERM included;
/// check ``ZMQError/isTerminated``).
@inline(__always) func zmqCall<T: BinaryInteger>(
    _ call: String, _ context: @autoclosure () -> String = "", _ body: () -> T
) throws -> ZMQIOResult<T> {
    while true {
        let r = body()
        if r != -1 { return .done(r) }
        let e = zmq_errno()
        if e == EINTR { continue }
        if e == EAGAIN { return .wouldBlock }
        throw ZMQError(call: call, context: context(), code: e)
    }
}

/// ``zmqCall(_:_:_:)`` for calls where EAGAIN cannot happen or is itself an error.
@inline(__always) @discardableResult func zmqCheck<T: BinaryInteger>(
    _ call: String, _ context: @autoclosure () -> String = "", _ body: () -> T
) throws -> T {
    switch try zmqCall(call, context(), body) {
    case .done(let r): return r
    case .wouldBlock: throw ZMQError(call: call, context: context(), code: EAGAIN)
    }
}
