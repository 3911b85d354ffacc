/// The kinds of message the daemon publishes. A message's topic is `<kind>.<model>`, so a
/// subscriber can filter by kind (`loss.`) or by kind and model (`loss.default`).
public enum OutputKind: String, CaseIterable, Sendable {
    case prediction
    case loss
    case stats
    case error

    /// The topic of a message of this kind about `model` (`error.` when no model can be told).
    public func topic(model: String?) -> String { "\(rawValue).\(model ?? "")" }

    /// The kind and model of `topic`, or nil when it is not an output topic.
    public static func parse(topic: String) -> (kind: OutputKind, model: String)? {
        guard let dot = topic.firstIndex(of: "."), let kind = OutputKind(rawValue: String(topic[..<dot])) else {
            return nil
        }
        return (kind, String(topic[topic.index(after: dot)...]))
    }
}

/// `prediction.<model>`: the predictions for one input message, in that message's encoding.
public struct PredictionMessage: Equatable, Sendable {
    public var model: String
    /// The model's count of learned samples after the message (JSON only; nil from NGD1).
    public var seq: Int?
    /// The input message's id.
    public var id: MessageID
    /// The predictions: one row of n_L values per sample of the input message.
    public var rows: Rows
    public var encoding: PayloadEncoding

    public init(model: String, seq: Int?, id: MessageID, rows: Rows, encoding: PayloadEncoding) {
        self.model = model
        self.seq = seq
        self.id = id
        self.rows = rows
        self.encoding = encoding
    }

    /// The prediction for `request`: same id, batch shape and encoding.
    public init(model: String, seq: Int, request: SampleMessage, values: [Double], width: Int) {
        let rows = Rows(values: values, count: request.count, width: width, isBatch: request.isBatch)
        self.init(model: model, seq: seq, id: request.id, rows: rows, encoding: request.encoding)
    }

    /// The payload: NGD1 (flag bit 1, no x) or `{"model", "seq", "id", "y_hat"}`.
    public func encode() -> [UInt8] {
        switch encoding {
        case .ngd1(let dtype):
            var id: UInt64 = 0
            if case .u64(let n) = self.id { id = n }
            return NGD1.encode(
                dtype: dtype, count: rows.count, inputWidth: 0, outputWidth: rows.width, id: id, x: [], y: rows.values,
                prediction: true)
        case .json:
            var w = JSONWriter()
            w.beginObject()
            w.member("model", model)
            w.member("seq", seq ?? 0)
            w.member("id", id)
            w.key("y_hat")
            w.value(rows)
            w.endObject()
            return w.bytes
        }
    }

    /// Reads a prediction payload of either encoding; `model` comes from the topic.
    /// - Throws: ``WireError`` when the payload is not a prediction.
    public static func decode(_ payload: [UInt8], model: String) throws(WireError) -> PredictionMessage {
        if payload.starts(with: NGD1.magic) {
            let p = try NGD1.decodePrediction(payload)
            let rows = Rows(values: p.values, count: p.count, width: p.outputWidth, isBatch: p.count > 1)
            return PredictionMessage(model: model, seq: nil, id: .u64(p.id), rows: rows, encoding: .ngd1(p.dtype))
        }
        let f = try JSONFields(parsing: payload, "prediction message")
        return PredictionMessage(
            model: try f.optionalString("model") ?? model, seq: try f.int("seq"), id: try f.id(),
            rows: try f.rows("y_hat"), encoding: .json)
    }
}

/// `loss.<model>`: what one labelled message scored, before the model learned from it.
public struct LossMessage: Equatable, Sendable {
    public var model: String
    /// The model's count of learned samples after the message.
    public var seq: Int
    public var id: MessageID
    /// n, the samples of the message.
    public var count: Int
    /// Mean over samples and outputs of (y − ŷ)²; NaN when non-finite (written as null).
    public var mse: Double
    /// ½(y − ŷ)ᵀ(σ²I)⁻¹(y − ŷ) averaged over the samples.
    public var loss: Double
    /// The model's running average of the per-sample loss (a time constant of ~100 samples).
    public var lossEMA: Double
    /// Samples the model has seen, learned or not.
    public var samples: Int
    /// Categorical models: the mean cross-entropy of the message (equal to `loss`), and the
    /// fraction of its samples whose most probable class was the label. nil otherwise.
    public var logLoss: Double?
    public var accuracy: Double?

    public init(
        model: String, seq: Int, id: MessageID, count: Int, mse: Double, loss: Double, lossEMA: Double, samples: Int,
        logLoss: Double? = nil, accuracy: Double? = nil
    ) {
        self.logLoss = logLoss
        self.accuracy = accuracy
        self.model = model
        self.seq = seq
        self.id = id
        self.count = count
        self.mse = mse
        self.loss = loss
        self.lossEMA = lossEMA
        self.samples = samples
    }

    /// `{"model", "seq", "id", "n", "mse", "loss", "loss_ema", "samples"}`.
    public func encode() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.member("model", model)
        w.member("seq", seq)
        w.member("id", id)
        w.member("n", count)
        w.member("mse", mse)
        w.member("loss", loss)
        w.member("loss_ema", lossEMA)
        w.member("samples", samples)
        if let logLoss { w.member("log_loss", logLoss) }
        if let accuracy { w.member("accuracy", accuracy) }
        w.endObject()
        return w.bytes
    }

    /// - Throws: ``WireError`` when a field is missing or of the wrong type.
    public static func decode(_ payload: [UInt8]) throws(WireError) -> LossMessage {
        let f = try JSONFields(parsing: payload, "loss message")
        return LossMessage(
            model: try f.string("model"), seq: try f.int("seq"), id: try f.id(), count: try f.int("n"),
            mse: try f.number("mse"), loss: try f.number("loss"), lossEMA: try f.number("loss_ema"),
            samples: try f.int("samples"), logLoss: try f.optionalNumber("log_loss"),
            accuracy: try f.optionalNumber("accuracy"))
    }
}

/// `stats.<model>`: a model's health, every `stats_interval` seconds.
public struct StatsMessage: Equatable, Sendable {
    public var model: String
    /// Samples per second since the previous stats message.
    public var samplesPerSecond: Double
    public var samples: Int
    public var seq: Int
    public var lossEMA: Double?
    public var mseEMA: Double?
    /// NGD's relative damping λ; nil for other optimizers.
    public var damping: Double?
    /// Messages rejected for this model.
    public var rejected: Int
    /// NGD steps undone because they raised their block's loss.
    public var rejectedSteps: Int
    /// `ngd`, `sgd` or `adam`.
    public var optimizer: String
    public var paused: Bool
    /// Seconds since the daemon started.
    public var uptime: Double
    /// Seconds since the model's last checkpoint; nil before the first.
    public var checkpointAge: Double?
    /// Messages missing from a sequence of consecutive integer ids since start, for a model with
    /// `sequenced_ids` (nil, and not written, otherwise).
    public var missedMessages: Int?

    public init(
        model: String, samplesPerSecond: Double, samples: Int, seq: Int, lossEMA: Double?, mseEMA: Double?,
        damping: Double?, rejected: Int, rejectedSteps: Int, optimizer: String, paused: Bool, uptime: Double,
        checkpointAge: Double?
    ) {
        self.model = model
        self.samplesPerSecond = samplesPerSecond
        self.samples = samples
        self.seq = seq
        self.lossEMA = lossEMA
        self.mseEMA = mseEMA
        self.damping = damping
        self.rejected = rejected
        self.rejectedSteps = rejectedSteps
        self.optimizer = optimizer
        self.paused = paused
        self.uptime = uptime
        self.checkpointAge = checkpointAge
    }

    public func encode() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        writeMembers(into: &w)
        w.endObject()
        return w.bytes
    }

    /// The members, without the braces (the `status` reply embeds them).
    func writeMembers(into w: inout JSONWriter) {
        w.member("model", model)
        w.member("samples_per_s", samplesPerSecond)
        w.member("samples", samples)
        w.member("seq", seq)
        w.member("loss_ema", lossEMA)
        w.member("mse_ema", mseEMA)
        w.member("damping", damping)
        w.member("rejected", rejected)
        w.member("rejected_steps", rejectedSteps)
        w.member("optimizer", optimizer)
        w.member("paused", paused)
        w.member("uptime_s", uptime)
        w.member("checkpoint_age_s", checkpointAge)
        if let missedMessages { w.member("missed_messages", missedMessages) }
    }

    public static func decode(_ payload: [UInt8]) throws(WireError) -> StatsMessage {
        try read(try JSONFields(parsing: payload, "stats message"))
    }

    static func read(_ f: JSONFields) throws(WireError) -> StatsMessage {
        var s = StatsMessage(
            model: try f.string("model"), samplesPerSecond: try f.number("samples_per_s"),
            samples: try f.int("samples"), seq: try f.int("seq"), lossEMA: try f.optionalNumber("loss_ema"),
            mseEMA: try f.optionalNumber("mse_ema"), damping: try f.optionalNumber("damping"),
            rejected: try f.int("rejected"), rejectedSteps: try f.int("rejected_steps"),
            optimizer: try f.string("optimizer"), paused: try f.bool("paused"), uptime: try f.number("uptime_s"),
            checkpointAge: try f.optionalNumber("checkpoint_age_s"))
        s.missedMessages = try f.optionalNumber("missed_messages").flatMap { Int(exactly: $0) }
        return s
    }
}

/// `error.<model>`: why a message was rejected. It changed nothing.
public struct ErrorMessage: Equatable, Sendable {
    /// The model the message was for; nil when no model can be told (an unknown topic).
    public var model: String?
    /// The rejected message's id, when it could be read.
    public var id: MessageID
    /// What was wrong, fit to show to a user.
    public var reason: String

    public init(model: String?, id: MessageID, reason: String) {
        self.model = model
        self.id = id
        self.reason = reason
    }

    public func encode() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("model")
        if let model { w.value(model) } else { w.null() }
        w.member("id", id)
        w.member("reason", reason)
        w.endObject()
        return w.bytes
    }

    public static func decode(_ payload: [UInt8]) throws(WireError) -> ErrorMessage {
        let f = try JSONFields(parsing: payload, "error message")
        return ErrorMessage(model: try f.optionalString("model"), id: try f.id(), reason: try f.string("reason"))
    }
}

/// Any message the daemon publishes, decoded by its topic's kind.
public enum OutputMessage: Equatable, Sendable {
    case prediction(PredictionMessage)
    case loss(LossMessage)
    case stats(StatsMessage)
    case error(ErrorMessage)

    /// Decodes `[topic, payload]`.
    /// - Throws: ``WireError`` when the topic is not an output topic or the payload does not fit it.
    public static func decode(topic: String, payload: [UInt8]) throws(WireError) -> OutputMessage {
        guard let (kind, model) = OutputKind.parse(topic: topic) else {
            throw .badField("'\(topic)' is not an output topic (prediction., loss., stats. or error.)")
        }
        switch kind {
        case .prediction: return .prediction(try .decode(payload, model: model))
        case .loss: return .loss(try .decode(payload))
        case .stats: return .stats(try .decode(payload))
        case .error: return .error(try .decode(payload))
        }
    }
}
