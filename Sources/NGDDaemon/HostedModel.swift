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
    /// ½(y − ŷ)ᵀ(σ²I)⁻¹(y − ŷ) averaged over samples, or nil.
    public var loss: Double?
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
    }

    public var name: String { config.name }
    public var network: Network { optimizer.network }

    /// Predictions for `count` inputs, learning nothing (the control socket's `predict`).
    public func predict(_ x: [Double], count: Int) throws -> [Double] { try predictor.predict(x, count: count) }

    /// NGD's current damping λ, nil for other optimizers.
    public var damping: Double? { (optimizer as? NaturalGradientOptimizer)?.damping }
    /// NGD steps undone because they raised the loss.
    public var rejectedSteps: Int { (optimizer as? NaturalGradientOptimizer)?.counters.rejected ?? 0 }

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
        if m.y != nil, m.outputWidth != a.outputSize {
            throw ModelInputError(
                description: "y has \(m.outputWidth) values per sample; model \(name) expects \(a.outputSize)")
        }
        // Inputs were checked for shape and finiteness by the decoder and just now for width.
        let oneBlock = m.y != nil && !paused && m.count <= optimizer.blockSize
        let yHat: [Double]
        if oneBlock, let y = m.y {
            // The message is one training block: its forward pass, made before the update, gives
            // the test-then-train predictions, so no separate prediction pass is needed.
            try optimizer.train(inputs: m.x, targets: y, count: m.count)
            yHat = optimizer.lastBlockOutputs
        } else {
            yHat = try predictor.predict(m.x, count: m.count)
        }
        samples += m.count
        guard let y = m.y else { return MessageOutcome(predictions: yHat, mse: nil, loss: nil, learned: false) }
        var sse = 0.0
        for j in 0..<y.count {
            let d = y[j] - yHat[j]
            sse += d * d
        }
        let mse = sse / Double(y.count)
        let loss = 0.5 * sse / config.outputNoise / Double(m.count)
        let keep = pow(1 - Self.emaRate, Double(m.count))
        lossEMA = lossEMA.map { keep * $0 + (1 - keep) * loss } ?? loss
        mseEMA = mseEMA.map { keep * $0 + (1 - keep) * mse } ?? mse
        labelledMessages += 1
        if paused { return MessageOutcome(predictions: yHat, mse: mse, loss: loss, learned: false) }
        if !oneBlock { try optimizer.train(inputs: m.x, targets: y, count: m.count) }
        seq += m.count
        return MessageOutcome(predictions: yHat, mse: mse, loss: loss, learned: true)
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

    /// Everything needed to resume: weights, factors, optimizer and RNG state, seq and averages.
    func checkpoint() -> ModelCheckpoint {
        ModelCheckpoint(
            model: name, architecture: network.architecture, optimizerKind: config.optimizer, seq: seq,
            samples: samples, lossEMA: lossEMA, mseEMA: mseEMA, paused: paused, savedAt: Date().timeIntervalSince1970,
            optimizer: optimizer.state)
    }
}
