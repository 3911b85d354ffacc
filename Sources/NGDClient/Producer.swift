import NGDWire
import ZeroMQ

/// Sends samples to a daemon's input: PUB (to a SUB input) or PUSH (to a PULL input).
///
/// PUB/SUB drops what is sent before the daemon's subscription has arrived; call
/// ``DaemonClient/sync(topic:inputWidth:timeout:)`` first, or use PUSH.
///
/// Thread safety: none; use a producer on one thread.
public final class Producer {
    public enum Pattern: String, CaseIterable, Sendable {
        case pub
        case push
    }

    public let endpoint: String
    /// How long one send may wait, nil for ever.
    public let sendTimeout: Duration?
    private let socket: ZMQSocket
    /// Watches the CURVE handshake (nil without CURVE).
    private let watch: ZMQHandshakeWatch?

    /// Connects to `endpoint`; `highWaterMark` messages may queue (0: unlimited). With `curve`,
    /// the connection is encrypted and authenticated (the daemon must list its public key in
    /// `producers`). A PUSH socket's send waits while no daemon has accepted the connection (a
    /// daemon that is down, or that refuses the CURVE key) or its queue is full; `sendTimeout`
    /// bounds that wait.
    public init(
        context: ZMQContext, endpoint: String, pattern: Pattern = .pub, highWaterMark: Int32 = 100_000,
        lingerMilliseconds: Int32 = 2000, curve: CurveClientKeys? = nil, sendTimeout: Duration? = nil
    ) throws(ClientError) {
        self.endpoint = endpoint
        self.sendTimeout = sendTimeout
        (socket, watch) = try socketCall("producer", endpoint) {
            let s = try ZMQSocket(context, type: pattern == .pub ? .pub : .push, lingerMilliseconds: lingerMilliseconds)
            try s.setSendHighWaterMark(highWaterMark)
            if let sendTimeout { try s.setSendTimeout(milliseconds: Int32(clamping: sendTimeout.milliseconds)) }
            try s.setCurve(curve)
            let w = curve == nil ? nil : try ZMQHandshakeWatch(socket: s, context: context)
            try s.connect(endpoint)
            return (s, w)
        }
    }

    /// Sends `[topic, payload]`.
    public func send(topic: String, payload: [UInt8]) throws(ClientError) {
        try send(frames: [Array(topic.utf8), payload])
    }

    /// Sends a message of any frames (for tools and tests; the daemon expects two).
    /// - Throws: ``ClientError/sendTimeout(endpoint:seconds:)`` when it waited `sendTimeout`.
    public func send(frames: [[UInt8]]) throws(ClientError) {
        guard try socketCall("producer", endpoint, { try socket.send(frames) }) else {
            throw .sendTimeout(endpoint: endpoint, seconds: sendTimeout?.seconds ?? 0)
        }
    }

    /// Sends `message` in its encoding to the model whose topic is `topic`.
    public func send(topic: String, _ message: SampleMessage) throws(ClientError) {
        try send(topic: topic, payload: message.encode())
    }

    /// Throws ``ClientError/refused(role:endpoint:status:)`` when the server refused this
    /// producer's CURVE handshake (and none succeeded since); nothing without CURVE.
    public func checkRefusal() throws(ClientError) { try watch?.check(role: "producer", endpoint: endpoint) }

    public func close() {
        watch?.close()
        socket.close()
    }
}
