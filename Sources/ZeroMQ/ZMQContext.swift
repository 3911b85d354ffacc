import CZeroMQ

/// A libzmq context, the owner of every socket's I/O threads.
///
/// Thread safety: libzmq contexts are thread-safe, so this class is `@unchecked Sendable`. Sockets
/// made from it are not: each ``ZMQSocket`` stays on the thread that uses it.
///
/// Shutdown order (libzmq's rule): ``shutdown()`` makes every blocking call on every socket fail
/// with ETERM; each owner then closes its socket on its own thread; ``terminate()`` (or deinit)
/// waits for all sockets to be closed. Set a finite linger on every socket, or terminate waits
/// for unsent messages forever.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private var terminated = false

    /// Creates a context with libzmq's defaults (one I/O thread).
    /// - Throws: ``ZMQError`` when libzmq cannot create one (out of file descriptors).
    public init() throws {
        guard let h = zmq_ctx_new() else { throw ZMQError(call: "zmq_ctx_new", code: zmq_errno()) }
        handle = h
    }

    /// Makes blocking calls on this context's sockets return ETERM. Safe from any thread, and more than once.
    public func shutdown() { _ = try? zmqCall("zmq_ctx_shutdown") { zmq_ctx_shutdown(handle) } }

    /// Waits until every socket is closed, then frees the context. Called by deinit if not before.
    public func terminate() {
        guard !terminated else { return }
        terminated = true
        _ = try? zmqCall("zmq_ctx_term") { zmq_ctx_term(handle) }
    }

    deinit { terminate() }
}
