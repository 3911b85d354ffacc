/// Settings of plain stochastic gradient descent.
public struct SGDSettings: Codable, Equatable, Sendable {
    /// α: each step is W ← W − α·(mean over the block of ∂½‖y − x_L‖²/∂W).
    public var learningRate: Double
    /// Samples per step (mini-batch size M).
    public var blockSize: Int

    public init(learningRate: Double = 0.01, blockSize: Int = 1) {
        self.learningRate = learningRate
        self.blockSize = blockSize
    }

    /// Every setting, once (see ``NaturalGradientSettings/settings``).
    public static var settings: [Setting<Self, TrainingSetting>] {
        [
            Setting(.learningRate, \.learningRate, "α", "Step size α on ½‖y − ŷ‖² (the mean gradient over the block)."),
            Setting(.blockSize, \.blockSize, "M", "Samples per step (mini-batch size)."),
        ]
    }

    /// - Throws: ``MathError/invalidSetting(_:value:reason:)`` when out of range.
    public func validate() throws(MathError) {
        try require(learningRate > 0 && learningRate.isFinite, .learningRate, learningRate, "must be a positive number")
        try require((1...4096).contains(blockSize), .blockSize, blockSize, "must be in 1...4096")
    }
}

/// Mini-batch stochastic gradient descent on ½‖y − x_L‖² (no Σ̃ weighting, so the learning
/// rate has its usual meaning whatever σ² is). The baseline NGD is measured against.
public final class SGDOptimizer: BlockOptimizer {
    public let network: Network
    public let settings: SGDSettings
    public private(set) var samplesSeen = 0
    private var steps = 0
    /// Steps refused because they could make a weight non-finite.
    public private(set) var rejectedSteps = 0
    /// Every refused step is one that would have made the model non-finite.
    public var nonFiniteSteps: Int { rejectedSteps }
    private let buffers: GradientBuffers

    public var blockSize: Int { settings.blockSize }

    /// An optimizer that trains `network` (which it takes ownership of).
    /// - Throws: ``MathError/invalidSetting(name:value:reason:)`` for bad settings.
    public init(network: Network, settings: SGDSettings) throws {
        try settings.validate()
        self.network = network
        self.settings = settings
        buffers = GradientBuffers(architecture: network.architecture, capacity: settings.blockSize)
    }

    public var lastBlockOutputs: [Double] { buffers.lastOutputs }

    @discardableResult public func train(inputs: [Double], targets: [Double], count: Int) throws -> TrainReport {
        try trainArrays(inputs: inputs, targets: targets, count: count)
    }

    package func trainBlock(inputs: UnsafePointer<Double>, targets: UnsafePointer<Double>, count k: Int) -> TrainReport
    {
        let score = buffers.forwardBackward(
            network: network, inputs: inputs, targets: targets, count: k, scale: 1)
        var report = TrainReport(outputSize: network.architecture.outputSize, samples: k, score: score)
        let alpha = settings.learningRate / Double(k)
        // A block that cannot be learned without a NaN or infinity, or a step that could make a
        // weight NaN or infinite, is refused whole; the network stays as it was.
        guard !score.refused, buffers.gradientStepIsSafe(network: network, count: k, alpha: alpha) else {
            report.rejected = 1
            rejectedSteps += 1
            return report
        }
        samplesSeen += k
        buffers.addGradientOuterProducts(network: network, count: k, alpha: alpha, target: network.parameters.base)
        steps += 1
        report.steps = 1
        return report
    }

    public var state: OptimizerState {
        .sgd(SGDState(settings: settings, network: network.state, samplesSeen: samplesSeen, steps: steps))
    }

    /// Restores an optimizer from a snapshot.
    public convenience init(state: SGDState) throws {
        try self.init(network: Network(state: state.network), settings: state.settings)
        samplesSeen = state.samplesSeen
        steps = state.steps
    }
}

/// A serialisable snapshot of an ``SGDOptimizer``.
public struct SGDState: Codable, Equatable, Sendable {
    public var settings: SGDSettings
    public var network: NetworkState
    public var samplesSeen: Int
    public var steps: Int
}
