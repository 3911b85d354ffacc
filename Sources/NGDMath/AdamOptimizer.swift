#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of Adam (Kingma & Ba, 2014).
public struct AdamSettings: Codable, Equatable, Sendable {
    /// α, the step size.
    public var learningRate: Double
    /// β₁, the decay of the first-moment average.
    public var beta1: Double
    /// β₂, the decay of the second-moment average.
    public var beta2: Double
    /// ε added to √v̂.
    public var epsilon: Double
    /// Samples per step (mini-batch size M).
    public var blockSize: Int

    public init(
        learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        blockSize: Int = 1
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.blockSize = blockSize
    }

    /// Every setting, once (see ``NaturalGradientSettings/settings``).
    public static var settings: [Setting<Self, TrainingSetting>] {
        [
            Setting(.learningRate, \.learningRate, "α", "Step size α on ½‖y − ŷ‖²."),
            Setting(.blockSize, \.blockSize, "M", "Samples per step (mini-batch size)."),
            Setting(.beta1, \.beta1, "β₁", "Decay of Adam's first-moment average."),
            Setting(.beta2, \.beta2, "β₂", "Decay of Adam's second-moment average."),
            Setting(.epsilon, \.epsilon, "ε", "Added to √v̂ in Adam's step."),
        ]
    }

    /// - Throws: ``MathError/invalidSetting(_:value:reason:)`` when out of range.
    public func validate() throws(MathError) {
        try SGDSettings(learningRate: learningRate, blockSize: blockSize).validate()
        try require(beta1 >= 0 && beta1 < 1, .beta1, beta1, "must be in [0, 1)")
        try require(beta2 >= 0 && beta2 < 1, .beta2, beta2, "must be in [0, 1)")
        try require(epsilon > 0 && epsilon.isFinite, .epsilon, epsilon, "must be a positive number")
    }
}

/// Adam on ½‖y − x_L‖² with bias-corrected moment estimates, one step per block.
public final class AdamOptimizer: BlockOptimizer {
    public let network: Network
    public let settings: AdamSettings
    public private(set) var samplesSeen = 0
    private var steps = 0
    /// Steps refused because the gradient was not finite or absurdly large.
    public private(set) var rejectedSteps = 0
    /// Every refused step is one that would have made the model non-finite.
    public var nonFiniteSteps: Int { rejectedSteps }
    private let buffers: GradientBuffers
    private let gradient: DoubleBuffer
    private let firstMoment: DoubleBuffer
    private let secondMoment: DoubleBuffer

    public var blockSize: Int { settings.blockSize }

    /// An optimizer that trains `network` (which it takes ownership of).
    /// - Throws: ``MathError/invalidSetting(name:value:reason:)`` for bad settings.
    public init(network: Network, settings: AdamSettings) throws {
        try settings.validate()
        self.network = network
        self.settings = settings
        buffers = GradientBuffers(architecture: network.architecture, capacity: settings.blockSize)
        let count = network.parameters.count
        gradient = DoubleBuffer(count: count)
        firstMoment = DoubleBuffer(count: count)
        secondMoment = DoubleBuffer(count: count)
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
        // A block that cannot be learned without a NaN or infinity, or a gradient that is not
        // finite (or absurdly large), would poison the moments and the weights: it is refused
        // whole and nothing changes.
        guard !score.refused, buffers.gradientStepIsSafe(network: network, count: k, alpha: 1 / Double(k)) else {
            report.rejected = 1
            rejectedSteps += 1
            return report
        }
        samplesSeen += k
        // g = −(1/k) Σ_j e_j x_jᵀ, the gradient of the block's mean loss.
        gradient.fill(0)
        buffers.addGradientOuterProducts(network: network, count: k, alpha: -1 / Double(k), target: gradient.base)
        steps += 1
        let b1 = settings.beta1
        let b2 = settings.beta2
        let correction1 = 1 - pow(b1, Double(steps))
        let correction2 = 1 - pow(b2, Double(steps))
        let stepSize = settings.learningRate / correction1
        let inverseCorrection2 = 1 / correction2
        let eps = settings.epsilon
        let g = gradient.base
        let m = firstMoment.base
        let v = secondMoment.base
        let w = network.parameters.base
        let count = gradient.count
        // Two lanes at a time (SSE2 `sqrtpd`/`divpd`): the square root and the division bound
        // this loop, and the scalar form is half as fast.
        typealias Pair = SIMD2<Double>
        let b1v = Pair(repeating: b1)
        let b2v = Pair(repeating: b2)
        let c1v = Pair(repeating: 1 - b1)
        let c2v = Pair(repeating: 1 - b2)
        var i = 0
        while i &+ 2 <= count {
            let gi = UnsafeRawPointer(g + i).loadUnaligned(as: Pair.self)
            let mi = b1v * UnsafeRawPointer(m + i).loadUnaligned(as: Pair.self) + c1v * gi
            let vi = b2v * UnsafeRawPointer(v + i).loadUnaligned(as: Pair.self) + c2v * gi * gi
            let wi =
                UnsafeRawPointer(w + i).loadUnaligned(as: Pair.self) - stepSize * mi
                / ((vi * inverseCorrection2).squareRoot() + eps)
            UnsafeMutableRawPointer(m + i).storeBytes(of: mi, as: Pair.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: vi, as: Pair.self)
            UnsafeMutableRawPointer(w + i).storeBytes(of: wi, as: Pair.self)
            i &+= 2
        }
        while i < count {
            let gi = g[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            w[i] -= stepSize * m[i] / ((v[i] * inverseCorrection2).squareRoot() + eps)
            i &+= 1
        }
        report.steps = 1
        return report
    }

    public var state: OptimizerState {
        .adam(
            AdamState(
                settings: settings, network: network.state, samplesSeen: samplesSeen, steps: steps,
                firstMoment: firstMoment.array, secondMoment: secondMoment.array))
    }

    /// Restores an optimizer from a snapshot.
    /// - Throws: ``MathError/invalidState(_:)`` when the moment vectors do not fit the network.
    public convenience init(state: AdamState) throws {
        try self.init(network: Network(state: state.network), settings: state.settings)
        guard state.firstMoment.count == gradient.count, state.secondMoment.count == gradient.count else {
            throw MathError.invalidState("Adam moment vectors do not match the network's \(gradient.count) parameters")
        }
        samplesSeen = state.samplesSeen
        steps = state.steps
        firstMoment.assign(state.firstMoment)
        secondMoment.assign(state.secondMoment)
    }
}

/// A serialisable snapshot of an ``AdamOptimizer``.
public struct AdamState: Codable, Equatable, Sendable {
    public var settings: AdamSettings
    public var network: NetworkState
    public var samplesSeen: Int
    public var steps: Int
    public var firstMoment: [Double]
    public var secondMoment: [Double]
}
