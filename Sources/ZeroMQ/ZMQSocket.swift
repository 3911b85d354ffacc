import CZeroMQ

/// The socket patterns ngd uses.
public enum ZMQSocketType: Sendable, CaseIterable, CustomStringConvertible {
    case pub, sub, push, pull, req, rep, dealer, router, pair
    /// Raw TCP (`ZMQ_STREAM`): each message is [peer identity, bytes]; an empty second frame
    /// announces a connection or a disconnection, and sending one closes the connection.
    case stream
    /// The halves of a subscription-forwarding proxy: XSUB faces publishers, XPUB subscribers.
    case xsub, xpub

    var raw: Int32 {
        switch self {
        case .pub: return ZMQ_PUB
        case .sub: return ZMQ_SUB
        case .push: return ZMQ_PUSH
        case .pull: return ZMQ_PULL
        case .req: return ZMQ_REQ
        case .rep: return ZMQ_REP
        case .dealer: return ZMQ_DEALER
        case .router: return ZMQ_ROUTER
        case .pair: return ZMQ_PAIR
        case .stream: return ZMQ_STREAM
        case .xsub: return ZMQ_XSUB
        case .xpub: return ZMQ_XPUB
        }
    }

    public var description: String {
        switch self {
        case .pub: return "PUB"
        case .sub: return "SUB"
        case .push: return "PUSH"
        case .pull: return "PULL"
        case .req: return "REQ"
        case .rep: return "REP"
        case .dealer: return "DEALER"
        case .router: return "ROUTER"
        case .pair: return "PAIR"
        case .stream: return "STREAM"
        case .xsub: return "XSUB"
        case .xpub: return "XPUB"
        }
    }
}

/// One libzmq socket. The class owns the handle and closes it exactly once (``close()`` or deinit).
///
/// Thread safety: none, as in libzmq. Create, use and close a socket on one thread; it is
/// deliberately not `Sendable`.
public final class ZMQSocket {
    /// The pattern given at creation.
    public let type: ZMQSocketType
    private var handle: UnsafeMutableRawPointer?
    private let frame = ZMQMessage()
    /// Keeps the context alive while the socket exists (libzmq requires it).
    private let context: ZMQContext

    /// Creates a socket and sets its linger to `lingerMilliseconds` (finite by default, so closing
    /// never blocks the context's termination for long).
    /// - Throws: ``ZMQError`` (ETERM when the context is shutting down, EMFILE when out of sockets).
    public init(_ context: ZMQContext, type: ZMQSocketType, lingerMilliseconds: Int32 = 1000) throws {
        guard let h = zmq_socket(context.handle, type.raw) else {
            throw ZMQError(call: "zmq_socket", context: type.description, code: zmq_errno())
        }
        self.type = type
        self.context = context
        handle = h
        try set(ZMQ_LINGER, lingerMilliseconds, name: "ZMQ_LINGER")
    }

    deinit { close() }

    /// Closes the socket now. Later calls on it throw ENOTSOCK. Idempotent.
    public func close() {
        guard let h = handle else { return }
        handle = nil
        zmq_close(h)
    }

    /// Runs libzmq's steerable proxy between `frontend` and `backend` on this thread until its
    /// `control` socket (REP) receives `TERMINATE` (returns) or the context is terminated
    /// (throws the ETERM ``ZMQError``). `control` also answers `PAUSE`, `RESUME` and
    /// `STATISTICS` (eight u64 frames). All three sockets must belong to this thread.
    public static func proxySteerable(frontend: ZMQSocket, backend: ZMQSocket, control: ZMQSocket) throws {
        let f = try frontend.live("zmq_proxy_steerable")
        let b = try backend.live("zmq_proxy_steerable")
        let c = try control.live("zmq_proxy_steerable")
        try zmqCheck("zmq_proxy_steerable") { zmq_proxy_steerable(f, b, nil, c) }
    }

    func live(_ call: String) throws -> UnsafeMutableRawPointer {
        guard let h = handle else { throw ZMQError(call: call, context: "(closed socket)", code: ENOTSOCK) }
        return h
    }

    /// Binds to `endpoint`, e.g. `tcp://127.0.0.1:5555`, `tcp://127.0.0.1:*`, `inproc://name`.
    public func bind(_ endpoint: String) throws {
        let h = try live("zmq_bind")
        try zmqCheck("zmq_bind", endpoint) { zmq_bind(h, endpoint) }
    }

    /// Connects to `endpoint`. libzmq connects in the background and reconnects by itself.
    public func connect(_ endpoint: String) throws {
        let h = try live("zmq_connect")
        try zmqCheck("zmq_connect", endpoint) { zmq_connect(h, endpoint) }
    }

    /// Drops the connection to `endpoint` made by ``connect(_:)`` (`zmq_disconnect`).
    public func disconnect(_ endpoint: String) throws {
        let h = try live("zmq_disconnect")
        try zmqCheck("zmq_disconnect", endpoint) { zmq_disconnect(h, endpoint) }
    }

    /// Publishes this socket's `events` on a PAIR socket libzmq binds at `endpoint` (an
    /// `inproc://` name); connect a ``ZMQSocketType/pair`` socket there and read
    /// ``ZMQMonitorEvent``s from it. Start it before ``connect(_:)`` to see the first attempt.
    public func monitor(_ endpoint: String, events: ZMQMonitorEvent.Kind) throws {
        let h = try live("zmq_socket_monitor")
        try zmqCheck("zmq_socket_monitor", endpoint) { zmq_socket_monitor(h, endpoint, events.rawValue) }
    }

    /// The endpoint last bound, with the real port when bound to `*` (`ZMQ_LAST_ENDPOINT`).
    public func lastEndpoint() throws -> String {
        let h = try live("zmq_getsockopt")
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        try zmqCheck("zmq_getsockopt", "ZMQ_LAST_ENDPOINT") { zmq_getsockopt(h, ZMQ_LAST_ENDPOINT, &buffer, &size) }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Options

    private func set(_ option: Int32, _ value: Int32, name: String) throws {
        let h = try live("zmq_setsockopt")
        var v = value
        try zmqCheck("zmq_setsockopt", name) { zmq_setsockopt(h, option, &v, MemoryLayout<Int32>.size) }
    }

    /// Milliseconds that unsent messages are kept after close (`ZMQ_LINGER`); -1 waits forever.
    public func setLinger(milliseconds: Int32) throws { try set(ZMQ_LINGER, milliseconds, name: "ZMQ_LINGER") }
    /// Messages queued for sending before the socket drops (PUB) or blocks (`ZMQ_SNDHWM`).
    public func setSendHighWaterMark(_ messages: Int32) throws { try set(ZMQ_SNDHWM, messages, name: "ZMQ_SNDHWM") }
    /// Messages queued on receipt before the peer is pushed back or dropped (`ZMQ_RCVHWM`).
    public func setReceiveHighWaterMark(_ messages: Int32) throws { try set(ZMQ_RCVHWM, messages, name: "ZMQ_RCVHWM") }
    /// Milliseconds a blocking receive waits before returning ``ZMQIOResult/wouldBlock`` (`ZMQ_RCVTIMEO`); -1 forever.
    public func setReceiveTimeout(milliseconds: Int32) throws {
        try set(ZMQ_RCVTIMEO, milliseconds, name: "ZMQ_RCVTIMEO")
    }
    /// Milliseconds a blocking send waits (`ZMQ_SNDTIMEO`); -1 forever.
    public func setSendTimeout(milliseconds: Int32) throws { try set(ZMQ_SNDTIMEO, milliseconds, name: "ZMQ_SNDTIMEO") }

    /// The largest inbound message, in bytes, summed over its frames (`ZMQ_MAXMSGSIZE`); -1 for no
    /// limit. libzmq drops the connection of a peer that sends a larger one.
    public func setMaximumMessageSize(bytes: Int64) throws {
        let h = try live("zmq_setsockopt")
        var v = bytes
        try zmqCheck("zmq_setsockopt", "ZMQ_MAXMSGSIZE") {
            zmq_setsockopt(h, ZMQ_MAXMSGSIZE, &v, MemoryLayout<Int64>.size)
        }
    }

    private func set(_ option: Int32, bytes: [UInt8], name: String) throws {
        let h = try live("zmq_setsockopt")
        try zmqCheck("zmq_setsockopt", name) {
            bytes.withUnsafeBytes { zmq_setsockopt(h, option, $0.baseAddress, $0.count) }
        }
    }

    /// Makes this socket a CURVE server with `secretKey` (40 characters of Z85): peers must
    /// handshake with CURVE and know the matching public key. Set before bind.
    public func setCurveServer(secretKey: String) throws {
        try set(ZMQ_CURVE_SERVER, 1, name: "ZMQ_CURVE_SERVER")
        try set(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8), name: "ZMQ_CURVE_SECRETKEY")
    }

    /// Makes this socket a CURVE client of the server whose public key is `serverKey`, with its
    /// own key pair (all 40 characters of Z85). Set before connect.
    public func setCurveClient(serverKey: String, publicKey: String, secretKey: String) throws {
        try set(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.utf8), name: "ZMQ_CURVE_SERVERKEY")
        try set(ZMQ_CURVE_PUBLICKEY, bytes: Array(publicKey.utf8), name: "ZMQ_CURVE_PUBLICKEY")
        try set(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8), name: "ZMQ_CURVE_SECRETKEY")
    }

    /// The ZAP domain of this socket's handshakes (`ZMQ_ZAP_DOMAIN`): the authentication
    /// handler sees it with every request and decides by it.
    public func setZapDomain(_ domain: String) throws {
        try set(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8), name: "ZMQ_ZAP_DOMAIN")
    }

    /// SUB only: receive messages whose first frame starts with `prefix` ("" is everything).
    public func subscribe(_ prefix: String) throws {
        let h = try live("zmq_setsockopt")
        let bytes = Array(prefix.utf8)
        try zmqCheck("zmq_setsockopt", "ZMQ_SUBSCRIBE \(prefix)") {
            bytes.withUnsafeBytes { zmq_setsockopt(h, ZMQ_SUBSCRIBE, $0.baseAddress, $0.count) }
        }
    }

    // MARK: Send and receive

    /// Sends a multipart message. With `wait` false, returns false instead of blocking when the
    /// queue is full; PUB sockets never block and drop for slow subscribers instead.
    @discardableResult public func send(_ frames: [[UInt8]], wait: Bool = true) throws -> Bool {
        let h = try live("zmq_send")
        for (i, f) in frames.enumerated() {
            var flags: Int32 = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            if !wait { flags |= ZMQ_DONTWAIT }
            let r = try zmqCall("zmq_send") { f.withUnsafeBytes { zmq_send(h, $0.baseAddress, $0.count, flags) } }
            // libzmq sends multipart messages atomically: once frame 0 is queued, the rest are too.
            if case .wouldBlock = r { return false }
        }
        return true
    }

    /// Sends a multipart message whose frames are UTF-8 strings.
    @discardableResult public func send(_ frames: [String], wait: Bool = true) throws -> Bool {
        try send(frames.map { Array($0.utf8) }, wait: wait)
    }

    /// Receives one whole multipart message. With `wait` false, returns nil when none is queued;
    /// with `wait` true, blocks (up to the receive timeout, when one is set, then nil).
    public func receive(wait: Bool = true) throws -> [[UInt8]]? {
        let h = try live("zmq_msg_recv")
        var frames: [[UInt8]] = []
        repeat {
            // Once the first frame of a message has arrived, the rest are already queued.
            let flags: Int32 = (wait || !frames.isEmpty) ? 0 : ZMQ_DONTWAIT
            guard try frame.receive(from: h, flags: flags, context: type.description) else { return nil }
            frames.append(frame.bytes)
        } while frame.hasMore
        return frames
    }

    // MARK: Polling

    /// The raw handle, for ``ZMQPoller``.
    var rawHandle: UnsafeMutableRawPointer? { handle }
}
