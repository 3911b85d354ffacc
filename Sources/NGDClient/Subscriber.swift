import NGDWire
import ZeroMQ

/// Reads a daemon's output: predictions, loss, stats and errors, decoded.
///
/// Thread safety: none; use a subscriber on one thread.
public final class Subscriber {
    public let endpoint: String
    private let socket: ZMQSocket
    /// Watches the CURVE handshake (nil without CURVE).
    private let watch: ZMQHandshakeWatch?

    /// Connects to `endpoint` (the daemon's `output`) and subscribes to each prefix of `topics`
    /// (`["loss."]`, `["prediction.default"]`; `[""]` is everything). With `curve`, the
    /// connection is encrypted and authenticated (the daemon must list its public key in
    /// `subscribers`).
    public init(
        context: ZMQContext, endpoint: String, topics: [String] = [""], highWaterMark: Int32 = 100_000,
        curve: CurveClientKeys? = nil
    ) throws(ClientError) {
        self.endpoint = endpoint
        (socket, watch) = try socketCall("subscriber", endpoint) {
            let s = try ZMQSocket(context, type: .sub, lingerMilliseconds: 0)
            try s.setReceiveHighWaterMark(highWaterMark)
            for t in topics { try s.subscribe(t) }
            try s.setCurve(curve)
            let w = curve == nil ? nil : try ZMQHandshakeWatch(socket: s, context: context)
            try s.connect(endpoint)
            return (s, w)
        }
    }

    /// The next `[topic, payload]`, waiting up to `timeout` (nil: don't wait); nil when none came.
    public func nextFrames(timeout: Duration?) throws(ClientError) -> (topic: String, payload: [UInt8])? {
        try socketCall("subscriber", endpoint) { () -> (String, [UInt8])? in
            let frames: [[UInt8]]?
            if let timeout {
                var poller = ZMQPoller([socket])
                let ms = timeout.milliseconds
                guard try poller.poll(timeoutMilliseconds: max(ms, 0))[0] else { return nil }
                frames = try socket.receive(wait: false)
            } else {
                frames = try socket.receive(wait: false)
            }
            guard let frames, frames.count == 2 else { return nil }
            return (String(decoding: frames[0], as: UTF8.self), frames[1])
        }
    }

    /// The next message, decoded, waiting up to `timeout` (nil: don't wait); nil when none came.
    /// - Throws: ``ClientError/malformed(what:underlying:)`` for a payload that does not fit its
    ///   topic.
    public func next(timeout: Duration?) throws(ClientError) -> OutputMessage? {
        guard let (topic, payload) = try nextFrames(timeout: timeout) else { return nil }
        do { return try OutputMessage.decode(topic: topic, payload: payload) } catch {
            throw .malformed(what: "\(topic) message", underlying: error)
        }
    }

    /// Drops every message already queued.
    public func drain() throws(ClientError) { while try nextFrames(timeout: nil) != nil {} }

    /// Throws ``ClientError/refused(role:endpoint:status:)`` when the server refused this
    /// subscriber's CURVE handshake (and none succeeded since); nothing without CURVE.
    public func checkRefusal() throws(ClientError) { try watch?.check(role: "subscriber", endpoint: endpoint) }

    public func close() {
        watch?.close()
        socket.close()
    }
}
