import NGDWire
import ZeroMQ

/// A client of the daemon's control socket (a REQ socket; the daemon's is a ROUTER): one request, one reply, with a timeout on
/// every call.
///
/// A REQ socket that gave up waiting cannot send again (libzmq's REQ state machine expects the
/// reply first), so after a timeout the client closes its socket and connects a new one.
///
/// Thread safety: none; use a client on one thread (ZeroMQ sockets are not thread-safe).
public final class ControlClient {
    public let endpoint: String
    /// How long each request waits for its reply.
    public let timeout: Duration
    private let context: ZMQContext
    private let curve: CurveClientKeys?
    private var socket: ZMQSocket

    /// Connects to `endpoint` (the daemon's `control`). With `curve`, the connection is
    /// encrypted and authenticated (the daemon must list its public key in `admins`); a daemon
    /// that refuses the key never answers, so each request then times out.
    /// - Throws: ``ClientError/socket(role:endpoint:underlying:)``.
    public init(
        context: ZMQContext, endpoint: String, timeout: Duration = .seconds(5), curve: CurveClientKeys? = nil
    ) throws(ClientError) {
        self.context = context
        self.endpoint = endpoint
        self.timeout = timeout
        self.curve = curve
        socket = try Self.connect(context, endpoint, timeout, curve)
    }

    private static func connect(
        _ context: ZMQContext, _ endpoint: String, _ timeout: Duration, _ curve: CurveClientKeys?
    ) throws(ClientError) -> ZMQSocket {
        try socketCall("control", endpoint) {
            let s = try ZMQSocket(context, type: .req, lingerMilliseconds: 0)
            let ms = Int32(clamping: timeout.milliseconds)
            try s.setReceiveTimeout(milliseconds: ms)
            try s.setSendTimeout(milliseconds: ms)
            try s.setCurve(curve)
            try s.connect(endpoint)
            return s
        }
    }

    /// Sends `request` and waits for its reply.
    /// - Throws: ``ClientError/timeout(request:endpoint:seconds:)`` (the socket is then reset),
    ///   ``ClientError/malformed(what:underlying:)``, or a socket error. An `{"error": …}` reply
    ///   is returned as ``ControlReply/error(_:)``, not thrown.
    public func send(_ request: ControlRequest) throws(ClientError) -> ControlReply {
        let name = Self.name(request)
        let reply = try exchangeFrames([request.encode()], name: name)
        do { return try ControlReply.decode(frames: reply, for: request) } catch {
            throw .malformed(what: "reply to \(name)", underlying: error)
        }
    }

    /// Sends `payload` as one frame and returns the one-frame reply, whatever they hold (for
    /// tools and tests that speak the protocol themselves). `name` names it in errors.
    /// - Throws: ``ClientError/timeout(request:endpoint:seconds:)`` (the socket is then reset).
    public func exchange(_ payload: [UInt8], name: String = "the request") throws(ClientError) -> [UInt8] {
        try exchange(frames: [payload], name: name)
    }

    /// ``exchange(_:name:)`` for a request of several frames (which the daemon refuses).
    public func exchange(frames request: [[UInt8]], name: String = "the request") throws(ClientError) -> [UInt8] {
        let frames = try exchangeFrames(request, name: name)
        guard frames.count == 1 else {
            throw .malformed(what: "reply to \(name)", underlying: .badField("\(frames.count) frames, expected 1"))
        }
        return frames[0]
    }

    /// Sends `request` and returns every frame of the reply.
    /// - Throws: ``ClientError/timeout(request:endpoint:seconds:)`` (the socket is then reset).
    func exchangeFrames(_ request: [[UInt8]], name: String) throws(ClientError) -> [[UInt8]] {
        let frames = try socketCall("control", endpoint) { () -> [[UInt8]]? in
            guard try socket.send(request) else { return nil }
            return try socket.receive()
        }
        guard let frames, !frames.isEmpty else {
            socket.close()
            socket = try Self.connect(context, endpoint, timeout, curve)
            throw .timeout(request: name, endpoint: endpoint, seconds: timeout.seconds)
        }
        return frames
    }

    /// Every model's status.
    public func status() throws(ClientError) -> (uptime: Double, models: [ModelStatus]) {
        switch try send(.status) {
        case .status(let uptime, let models, _): return (uptime, models)
        case let other: throw unexpected(other, .status)
        }
    }

    /// Saves every model now; returns the files written.
    /// - Throws: ``ClientError/rejected(request:reason:)`` when a save failed.
    @discardableResult public func checkpoint() throws(ClientError) -> [String] {
        switch try send(.checkpoint) {
        case .checkpoint(true, let paths, _): return paths
        case .checkpoint(false, _, let error): throw .rejected(request: "checkpoint", reason: error ?? "a save failed")
        case let other: throw unexpected(other, .checkpoint)
        }
    }

    /// Pauses (`true`) or resumes learning on `model`.
    public func setPaused(_ paused: Bool, model: String) throws(ClientError) {
        let request: ControlRequest = paused ? .pause(model: model) : .resume(model: model)
        switch try send(request) {
        case .paused: return
        case let other: throw unexpected(other, request)
        }
    }

    /// `model`'s predictions for `rows` (each one input vector), learning nothing.
    public func predict(model: String, rows: [[Double]]) throws(ClientError) -> [[Double]] {
        let request = ControlRequest.predict(model: model, x: Rows(rows))
        switch try send(request) {
        case .prediction(let y): return y.arrays
        case let other: throw unexpected(other, request)
        }
    }

    /// `model`'s checkpoint file as the daemon would save it now, with its seq and digest.
    /// Nothing is written on the daemon's side.
    public func snapshot(model: String) throws(ClientError) -> (seq: Int, digest: String?, file: [UInt8]) {
        let request = ControlRequest.snapshot(model: model)
        switch try send(request) {
        case .snapshot(_, let seq, let digest, let file): return (seq, digest, file)
        case let other: throw unexpected(other, request)
        }
    }

    public func close() { socket.close() }

    private func unexpected(_ reply: ControlReply, _ request: ControlRequest) -> ClientError {
        if case .error(let reason) = reply { return .rejected(request: Self.name(request), reason: reason) }
        return .malformed(what: "reply to \(Self.name(request))", underlying: .badField("unexpected reply \(reply)"))
    }

    static func name(_ request: ControlRequest) -> String {
        switch request {
        case .status: "status"
        case .checkpoint: "checkpoint"
        case .pause(let m): "pause \(m)"
        case .resume(let m): "resume \(m)"
        case .predict(let m, _): "predict \(m)"
        case .snapshot(let m): "snapshot \(m)"
        }
    }
}
