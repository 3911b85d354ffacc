/// A request to the daemon's control socket: one JSON object with a `"cmd"`.
public enum ControlRequest: Equatable, Sendable {
    /// Every model's settings and counters.
    case status
    /// Save every model now; the reply lists the files.
    case checkpoint
    /// Stop learning on a model (it still predicts and scores).
    case pause(model: String)
    /// Learn again.
    case resume(model: String)
    /// Predictions for the inputs `x`, learning nothing; the reply is a list of vectors when `x` is.
    case predict(model: String, x: Rows)
    /// The model's checkpoint file as it would be saved now, sent back rather than written: the
    /// reply has a second frame (a replica copied to another host starts from it).
    case snapshot(model: String)

    /// The commands, for messages.
    public static let commands = "status, predict, checkpoint, pause, resume, snapshot"

    /// The model the request is about, if any.
    public var model: String? {
        switch self {
        case .status, .checkpoint: nil
        case .pause(let m), .resume(let m), .predict(let m, _), .snapshot(let m): m
        }
    }

    public func encode() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("cmd")
        switch self {
        case .status: w.value("status")
        case .checkpoint: w.value("checkpoint")
        case .pause(let m):
            w.value("pause")
            w.member("model", m)
        case .resume(let m):
            w.value("resume")
            w.member("model", m)
        case .predict(let m, let x):
            w.value("predict")
            w.member("model", m)
            w.key("x")
            w.value(x)
        case .snapshot(let m):
            w.value("snapshot")
            w.member("model", m)
        }
        w.endObject()
        return w.bytes
    }

    /// Reads a request.
    /// - Throws: ``WireError`` with a reason fit for the `{"error": …}` reply.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> ControlRequest {
        let doc: JSONValue
        do { doc = try JSONValue.parse(bytes) } catch let e as WireError { throw e } catch {
            throw .malformedJSON("\(error)")
        }
        guard case .object = doc else {
            throw .badField("the request must be a JSON object such as {\"cmd\":\"status\"}")
        }
        guard let cmd = doc["cmd"]?.text else { throw .badField("missing \"cmd\" (one of \(commands))") }
        func model() throws(WireError) -> String {
            guard let m = doc["model"]?.text else { throw .badField("missing \"model\"") }
            return m
        }
        switch cmd {
        case "status": return .status
        case "checkpoint": return .checkpoint
        case "pause": return .pause(model: try model())
        case "resume": return .resume(model: try model())
        case "snapshot": return .snapshot(model: try model())
        case "predict":
            let m = try model()
            guard let xv = doc["x"], xv != .null else { throw .badField("missing x") }
            let (x, k, width, batch) = try SampleMessage.matrix(xv, field: "x")
            return .predict(model: m, x: Rows(values: x, count: k, width: width, isBatch: batch))
        default: throw .badField("unknown cmd '\(cmd)' (one of \(commands))")
        }
    }
}

/// One model's part of the `status` reply: its configuration, and the members of its
/// ``StatsMessage`` (the rate is over the current window, which `status` does not reset).
public struct ModelStatus: Equatable, Sendable {
    public var topic: String
    public var layers: [Int]
    public var activation: String
    public var bias: Bool
    public var learningRate: Double
    /// Samples per update.
    public var batch: Int
    /// Counters, averages and health, as `stats.<model>` carries them.
    public var stats: StatsMessage
    /// A hash of the model's whole state (weights, factors, statistics, counters): two replicas
    /// fed the same messages in the same order have the same digest. 16 hex digits.
    public var digest: String?

    /// The model's name.
    public var name: String { stats.model }

    public init(
        topic: String, layers: [Int], activation: String, bias: Bool, learningRate: Double, batch: Int,
        stats: StatsMessage
    ) {
        self.topic = topic
        self.layers = layers
        self.activation = activation
        self.bias = bias
        self.learningRate = learningRate
        self.batch = batch
        self.stats = stats
    }

    func write(into w: inout JSONWriter) {
        w.beginObject()
        w.member("topic", topic)
        w.key("layers")
        w.beginArray()
        for n in layers { w.value(n) }
        w.endArray()
        w.member("activation", activation)
        w.member("bias", bias)
        w.member("learning_rate", learningRate)
        w.member("batch", batch)
        if let digest { w.member("digest", digest) }
        stats.writeMembers(into: &w)
        w.endObject()
    }

    static func read(_ name: String, _ v: JSONValue) throws(WireError) -> ModelStatus {
        let f = try JSONFields(v, "status of model \(name)")
        var layers: [Int] = []
        for s in v["layers"]?.array ?? [.null] {
            guard let n = s.int else { throw f.missing("layers", "an array of integers") }
            layers.append(n)
        }
        var status = ModelStatus(
            topic: try f.string("topic"), layers: layers, activation: try f.string("activation"),
            bias: try f.bool("bias"), learningRate: try f.number("learning_rate"), batch: try f.int("batch"),
            stats: try StatsMessage.read(f))
        if case .string(let d)? = v["digest"] { status.digest = d }
        return status
    }
}

/// The reply to a ``ControlRequest``. Every request gets one; a malformed or failed request
/// gets ``error(_:)``.
public enum ControlReply: Equatable, Sendable {
    /// `{"uptime_s", "models": {NAME: {…}}}`.
    /// `authFailures`: CURVE handshakes refused since start (0 without CURVE).
    case status(uptime: Double, models: [ModelStatus], authFailures: Int = 0)
    /// `{"ok", "paths", "error"?}`: `ok` is false when a save failed.
    case checkpoint(ok: Bool, paths: [String], error: String?)
    /// `{"ok": true, "model", "paused"}`.
    case paused(model: String, paused: Bool)
    /// `{"y_hat": …}`.
    case prediction(Rows)
    /// `{"ok": true, "model", "seq", "digest", "bytes"}`, then a second frame: the checkpoint
    /// file (`bytes` long), in the format the daemon saves.
    case snapshot(model: String, seq: Int, digest: String?, file: [UInt8])
    /// `{"error": …}`.
    case error(String)

    /// The reply's frames: the JSON object, and for ``snapshot(model:seq:digest:file:)`` the file.
    public var frames: [[UInt8]] {
        if case .snapshot(_, _, _, let file) = self { return [encode(), file] }
        return [encode()]
    }

    /// The JSON frame.
    public func encode() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        switch self {
        case .status(let uptime, let models, let authFailures):
            w.member("uptime_s", uptime)
            w.member("auth_failures", authFailures)
            w.key("models")
            w.beginObject()
            for m in models {
                w.key(m.name)
                m.write(into: &w)
            }
            w.endObject()
        case .checkpoint(let ok, let paths, let error):
            w.member("ok", ok)
            w.key("paths")
            w.beginArray()
            for p in paths { w.value(p) }
            w.endArray()
            if let error {
                w.member("error", error)
            }
        case .paused(let model, let paused):
            w.member("ok", true)
            w.member("model", model)
            w.member("paused", paused)
        case .prediction(let rows):
            w.key("y_hat")
            w.value(rows)
        case .snapshot(let model, let seq, let digest, let file):
            w.member("ok", true)
            w.member("model", model)
            w.member("seq", seq)
            if let digest { w.member("digest", digest) }
            w.member("bytes", file.count)
        case .error(let message):
            w.member("error", message)
        }
        w.endObject()
        return w.bytes
    }

    /// Reads the reply to `request` from all its frames: two for a snapshot (the second one
    /// `bytes` long), one otherwise.
    /// - Throws: ``WireError`` when it is not a reply to that request.
    public static func decode(frames: [[UInt8]], for request: ControlRequest) throws(WireError) -> ControlReply {
        guard let first = frames.first else { throw .badField("an empty control reply") }
        guard case .snapshot = request else {
            guard frames.count == 1 else { throw .badField("expected a one-frame reply, got \(frames.count) frames") }
            return try decode(first, for: request)
        }
        let f = try JSONFields(parsing: first, "control reply")
        if let message = f.object["error"]?.text { return .error(message) }
        guard frames.count == 2 else { throw .badField("a snapshot reply has 2 frames, got \(frames.count)") }
        guard let n = Int(exactly: try f.number("bytes")), n == frames[1].count else {
            throw .badField(
                "the snapshot says \(f.object["bytes"].map { "\($0)" } ?? "?") bytes, its file has \(frames[1].count)")
        }
        guard let seq = Int(exactly: try f.number("seq")) else { throw f.missing("seq", "an integer") }
        return .snapshot(
            model: try f.string("model"), seq: seq, digest: try f.optionalString("digest"), file: frames[1])
    }

    /// Reads the reply to `request`.
    /// - Throws: ``WireError`` when it is not a reply to that request.
    public static func decode(_ bytes: [UInt8], for request: ControlRequest) throws(WireError) -> ControlReply {
        let f = try JSONFields(parsing: bytes, "control reply")
        if let message = f.object["error"]?.text, request != .checkpoint || !f.has("ok") { return .error(message) }
        switch request {
        case .status:
            guard case .object(let members)? = f.object["models"] else { throw f.missing("models", "an object") }
            var models: [ModelStatus] = []
            for (name, v) in members { models.append(try ModelStatus.read(name, v)) }
            let failures = f.has("auth_failures") ? Int(exactly: try f.number("auth_failures")) ?? 0 : 0
            return .status(uptime: try f.number("uptime_s"), models: models, authFailures: failures)
        case .checkpoint:
            guard case .array(let items)? = f.object["paths"] else { throw f.missing("paths", "an array") }
            var paths: [String] = []
            for p in items {
                guard let s = p.text else { throw f.missing("paths", "an array of strings") }
                paths.append(s)
            }
            return .checkpoint(ok: try f.bool("ok"), paths: paths, error: try f.optionalString("error"))
        case .pause, .resume: return .paused(model: try f.string("model"), paused: try f.bool("paused"))
        case .predict:
            return .prediction(try f.rows("y_hat"))
        case .snapshot:
            throw .badField("a snapshot reply has 2 frames; read it with decode(frames:for:)")
        }
    }
}
