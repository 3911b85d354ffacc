import Foundation
import NGDMath
import NGDWire

/// Why a message was not accepted by a model (sent on `error.<model>`).
public struct ModelInputError: Error, Equatable, Sendable, CustomStringConvertible { public let description: String }

/// What one message did to a model: the predictions made before learning, and, for a labelled
/// message, the loss measured on them.
public struct MessageOutcome: Sendable {
    /// k × n_L predictions, each made before the model learned from this message.
    public var predictions: [Double]
    /// Mean over samples and outputs of (y − ŷ)², or nil when predict-only.
    public var mse: Double?
    /// The loss averaged over samples: ½(y − ŷ)ᵀ(σ²I)⁻¹(y − ŷ), or the cross-entropy for a
    /// categorical model; nil when predict-only.
    public var loss: Double?
    /// Categorical models: the fraction of samples whose most probable class is the label.
    public var accuracy: Double?
    /// Steps the optimizer refused while learning this message because they would have made a
    /// weight, an input statistic or a factor NaN or infinite.
    public var refusedSteps = 0
    /// Whether the model learned from the message (false when predict-only or paused).
    public var learned: Bool
}

/// One model the daemon hosts: its optimizer (which owns the network) and running statistics.
///
/// Processing is test-then-train (progressive validation): predict every sample of a message,
/// measure the loss, then learn from them as one call (split into blocks of `batch`). A message of
/// at most `batch` samples is one block, and its predictions come from the training block's own
/// forward pass, made before the update: the same values, without a second pass.
///
/// Thread safety: none; the serve loop's thread owns every model.
public final class HostedModel {
    public let config: ModelConfig
    public private(set) var optimizer: any Optimizer
    /// Forward-pass scratch for predictions, allocated once.
    private let predictor: Predictor
    /// Samples learned; saved in checkpoints and continued after a restart.
    public private(set) var seq = 0
    /// Samples seen, learned or not.
    public private(set) var samples = 0
    /// Exponential moving average of the per-sample loss (rate ``emaRate`` per sample); nil before the first label.
    public private(set) var lossEMA: Double?
    /// The same average of the per-sample mse.
    public private(set) var mseEMA: Double?
    /// When true, labelled samples are predicted and scored but not learned.
    public var paused = false
    /// Messages rejected for this model (bad dimensions, bad payloads on its topic).
    public var rejectedMessages = 0
    /// Labelled messages seen since start, for `loss_every`.
    var labelledMessages = 0
    /// When the model was last saved (or loaded).
    public var lastCheckpoint: Date?
    /// Checkpoints of this model that failed to write since start.
    public var checkpointFailures = 0
    /// The start of the current samples/s window.
    private var lastStats = (samples: 0, time: Date())

    /// The per-sample rate of ``lossEMA``: a time constant of 100 samples.
    public static let emaRate = 0.01

    /// A fresh model from its configuration.
    public init(config: ModelConfig) throws {
        self.config = config
        optimizer = try config.makeOptimizer()
        predictor = Predictor(network: optimizer.network)
    }

    /// A model restored from a checkpoint (already checked against `config`).
    init(config: ModelConfig, checkpoint c: ModelCheckpoint) throws {
        self.config = config
        optimizer = try config.applyingSettings(to: c.optimizer).makeOptimizer()
        predictor = Predictor(network: optimizer.network)
        seq = c.seq
        samples = c.samples
        lossEMA = c.lossEMA
        mseEMA = c.mseEMA
        paused = c.paused
        lastSequenceID = c.lastSequenceID
    }

    public var name: String { config.name }
    public var network: Network { optimizer.network }

    /// Predictions for `count` inputs, learning nothing (the control socket's `predict`).
    public func predict(_ x: [Double], count: Int) throws -> [Double] { try predictor.predict(x, count: count) }

    /// A hash of the model's whole state: FNV-1a (64 bits, hex) of its checkpoint body with the
    /// save time left out, so that two replicas fed the same messages in the same order have the
    /// same digest. Nil when the model cannot be checkpointed (non-finite).
    public func digest() -> String? {
        guard var c = try? checkpoint() else { return nil }
        c.savedAt = 0
        guard let body = try? BinaryCoder.encode(c) else { return nil }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in body {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Messages missing from a sequence of consecutive integer ids (`sequenced_ids`).
    public var missedMessages = 0
    /// The last integer id seen, for `sequenced_ids`.
    var lastSequenceID: UInt64?

    /// Notes message id `id` for `sequenced_ids`; returns the number of messages missing just
    /// before it (0 when it follows the last id, or when the ids went back: a producer restarted).
    func noteSequence(_ id: MessageID) -> UInt64 {
        let n: UInt64
        switch id {
        case .u64(let v): n = v
        case .json(.number(_, let text)):
            guard let v = UInt64(text) else { return 0 }
            n = v
        default: return 0
        }
        defer { lastSequenceID = n }
        guard let last = lastSequenceID, n > last, n - last > 1 else { return 0 }
        let missing = n - last - 1
        missedMessages += Int(clamping: missing)
        return missing
    }

    /// The optimizer when it is NGD's (for its factors' health), nil otherwise.
    public var naturalGradient: NaturalGradientOptimizer? { optimizer as? NaturalGradientOptimizer }

    /// NGD's current damping λ, nil for other optimizers.
    public var damping: Double? { (optimizer as? NaturalGradientOptimizer)?.damping }
    /// Steps not applied (``Optimizer/rejectedSteps``).
    public var rejectedSteps: Int { optimizer.rejectedSteps }

    /// Steps refused because they would have made the model non-finite
    /// (``Optimizer/nonFiniteSteps``).
    public var nonFiniteSteps: Int { optimizer.nonFiniteSteps }

    /// Predicts, scores and (unless paused or predict-only) learns from `m`.
    ///
    /// Widths are checked first; on a mismatch the model is untouched.
    /// - Throws: ``ModelInputError`` naming the expected and received sizes.
    public func process(_ m: SampleMessage) throws -> MessageOutcome {
        let a = network.architecture
        guard m.inputWidth == a.inputSize else {
            throw ModelInputError(
                description: "x has \(m.inputWidth) values per sample; model \(name) expects \(a.inputSize)")
        }
        let targets = try m.y.map { try self.targets($0, of: m) }
        // Inputs were checked for shape and finiteness by the decoder and just now for width.
        let oneBlock = targets != nil && !paused && m.count <= optimizer.blockSize
        let refusedBefore = nonFiniteSteps
        let yHat: [Double]
        if oneBlock, let y = targets {
            // The message is one training block: its forward pass, made before the update, gives
            // the test-then-train predictions, so no separate prediction pass is needed.
            try optimizer.train(inputs: m.x, targets: y, count: m.count)
            yHat = optimizer.lastBlockOutputs
        } else {
            yHat = try predictor.predict(m.x, count: m.count)
        }
        samples += m.count
        guard let y = targets else {
            return MessageOutcome(predictions: yHat, mse: nil, loss: nil, accuracy: nil, learned: false)
        }
        let score = Self.score(
            predictions: yHat, targets: y, count: m.count, architecture: a, variance: config.outputNoise)
        // A sample that could not be predicted (absurd inputs: its step was refused) is scored
        // in its loss message but kept out of the running averages, which would never recover.
        if score.loss.isFinite, score.mse.isFinite {
            let keep = pow(1 - Self.emaRate, Double(m.count))
            lossEMA = lossEMA.map { keep * $0 + (1 - keep) * score.loss } ?? score.loss
            mseEMA = mseEMA.map { keep * $0 + (1 - keep) * score.mse } ?? score.mse
            noteLoss()
        }
        labelledMessages += 1
        var outcome = MessageOutcome(
            predictions: yHat, mse: score.mse, loss: score.loss, accuracy: score.accuracy, learned: false)
        if paused { return outcome }
        if !oneBlock { try optimizer.train(inputs: m.x, targets: y, count: m.count) }
        seq += m.count
        outcome.learned = true
        outcome.refusedSteps = nonFiniteSteps - refusedBefore
        return outcome
    }

    /// The targets the optimizer learns: y itself, or for a categorical model given class
    /// indices (JSON `label`, or an NGD1 y of width 1), their one-hot vectors.
    /// - Throws: ``ModelInputError`` for a wrong width, a label for a Gaussian model, or a class
    ///   index out of range.
    func targets(_ y: [Double], of m: SampleMessage) throws -> [Double] {
        let a = network.architecture
        let K = a.outputSize
        if a.likelihood == .categorical, m.outputWidth == 1, K > 1 {
            var oneHot = [Double](repeating: 0, count: m.count * K)
            for (r, c) in y.enumerated() {
                guard let cls = Int(exactly: c), cls >= 0, cls < K else {
                    throw ModelInputError(
                        description: "class \(c) of sample \(r) is not in 0..<\(K) (model \(name) has \(K) classes)")
                }
                oneHot[r * K + cls] = 1
            }
            return oneHot
        }
        if m.hasLabels {
            throw ModelInputError(description: "label is for categorical models; model \(name) is gaussian: send y")
        }
        guard m.outputWidth == K else {
            throw ModelInputError(description: "y has \(m.outputWidth) values per sample; model \(name) expects \(K)")
        }
        if a.likelihood == .categorical {
            for r in 0..<m.count {
                let row = y[(r * K)..<((r + 1) * K)]
                guard row.allSatisfy({ $0 >= 0 }), abs(row.reduce(0, +) - 1) < 1e-6 else {
                    throw ModelInputError(
                        description: "y of sample \(r) is not a probability vector (entries ≥ 0 summing to 1)")
                }
            }
        }
        return y
    }

    /// What a labelled message scored: mse over samples and outputs of (y − ŷ)², the mean loss,
    /// and for a categorical model the accuracy.
    static func score(
        predictions p: [Double], targets y: [Double], count k: Int, architecture a: Architecture, variance: Double
    )
        -> (mse: Double, loss: Double, accuracy: Double?)
    {
        var sse = 0.0
        for j in 0..<y.count {
            let d = y[j] - p[j]
            sse += d * d
        }
        let mse = sse / Double(y.count)
        guard a.likelihood == .categorical else { return (mse, 0.5 * sse / variance / Double(k), nil) }
        let K = a.outputSize
        var logLoss = 0.0
        var hits = 0
        for r in 0..<k {
            // The predicted class is the first most probable one; the label, y's largest entry.
            let row = p[(r * K)..<((r + 1) * K)]
            let label = y[(r * K)..<((r + 1) * K)]
            if row.indices.max(by: { row[$0] < row[$1] }) == label.indices.max(by: { label[$0] < label[$1] }) {
                hits += 1
            }
            for j in row.indices where label[j] > 0 { logLoss -= label[j] * log(max(row[j], 1e-300)) }
        }
        return (mse, logLoss / Double(k), Double(hits) / Double(k))
    }

    /// The lowest running loss seen once the average covers ~100 samples; nil before.
    public private(set) var bestLossEMA: Double?
    /// Whether the running loss is more than 100× its best (set once, cleared below 10×).
    public private(set) var isDiverging = false
    /// A warning to log, set when the model starts or stops diverging; the serve loop takes it.
    var pendingWarning: String?

    /// Tracks the running loss against its best, and raises ``pendingWarning`` when it grows
    /// 100× above it (or is no longer finite).
    func noteLoss() {
        guard let ema = lossEMA else { return }
        guard samples >= 100 else { return }
        if ema.isFinite { bestLossEMA = min(bestLossEMA ?? ema, ema) }
        guard let best = bestLossEMA else { return }
        if !isDiverging, !(ema <= 100 * best) {
            isDiverging = true
            pendingWarning = "running loss \(ema) is over 100× its best \(best): the model is diverging"
        } else if isDiverging, ema <= 10 * best {
            isDiverging = false
            pendingWarning = "running loss \(ema) is back within 10× its best \(best)"
        }
    }

    /// Samples per second since the previous call (for `stats.<model>`); resets the window.
    public func takeSampleRate(now: Date = Date()) -> Double {
        let rate = sampleRate(now: now)
        lastStats = (samples, now)
        return rate
    }

    /// Samples per second over the current window, without resetting it.
    public func sampleRate(now: Date = Date()) -> Double {
        let dt = now.timeIntervalSince(lastStats.time)
        return dt > 0 ? Double(samples - lastStats.samples) / dt : 0
    }

    /// Everything needed to resume: weights, factors, optimizer and RNG state, seq, averages and
    /// the last sequenced id.
    /// - Throws: ``CheckpointError/nonFinite(model:)`` when a weight is NaN or infinite: such a
    ///   model is never written, so the last good checkpoint stays.
    func checkpoint() throws -> ModelCheckpoint {
        guard network.state.parameters.allSatisfy(\.isFinite) else { throw CheckpointError.nonFinite(model: name) }
        return ModelCheckpoint(
            model: name, architecture: network.architecture, optimizerKind: config.optimizer, seq: seq,
            samples: samples, lossEMA: lossEMA, mseEMA: mseEMA, paused: paused, savedAt: Date().timeIntervalSince1970,
            optimizer: optimizer.state, lastSequenceID: lastSequenceID)
    }
}
