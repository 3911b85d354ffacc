/// Every constant of online natural-gradient descent, with the defaults that ALGORITHM.md
/// measured to work on the paper's problems.
public struct NaturalGradientSettings: Codable, Equatable, Sendable {
    /// η: the step is ΔW_i = (η_t/L)(P̃_i e_i)(P_i x_{i-1})ᵀ. `ngd bench paper` uses 0.02 (see
    /// `PaperBench`); this default is ALGORITHM.md's.
    public var learningRate = 0.01
    /// η_t = η/(1 + learningRateDecay·t), t counting samples.
    public var learningRateDecay = 1e-4
    /// ε, the rate of the exponential moving averages of both Fisher factors.
    public var factorRate = 3e-3
    /// Samples that only update the factors, with ε_t = 1/(t+2). `nil` means ⌈1/ε⌉.
    public var warmup: Int? = nil
    /// λ₀, the initial (dimensionless, relative) damping.
    public var initialDamping = 1e-2
    /// λ_min: damping never goes below this. Without it, directions a rank-deficient factor never
    /// sees decay until round-off destroys P.
    public var minimumDamping = 1e-8
    /// λ_max: damping never goes above this (at λ = 10⁴ the damping is 100× the mean eigenvalue
    /// and the step is a small SGD step).
    public var maximumDamping = 1e4
    /// Samples per adaptive-damping window: ρ = Σ actual / Σ predicted decrease over the window.
    public var dampingWindow = 100
    /// λ ← λ·increase when ρ < lowRatio, and on every rejected step.
    public var dampingIncrease = 1.5
    /// λ ← λ·decrease when ρ > highRatio.
    public var dampingDecrease = 2.0 / 3.0
    /// The ρ below which damping increases (paper Eq. 21: 1/4).
    public var lowRatio = 0.25
    /// The ρ above which damping decreases (paper Eq. 21: 3/4).
    public var highRatio = 0.75
    /// Clip η_t to lin/q, the minimiser of the block's own Gauss–Newton model of the step.
    public var clipToModelMinimum = true
    /// Undo a step that raised its own block's loss, and raise λ.
    public var rejectWorseSteps = true
    /// K: targets sampled from the model per input, for the error factors Λ̃.
    public var modelSamples = 1
    /// k: samples per update. 1 uses Sherman–Morrison; k > 1 uses one rank-k Woodbury update per
    /// factor and a rank-k weight update.
    public var blockSize = 1
    /// Update the Fisher factors on one block in `factorInterval` only; 1 (the default, and
    /// ALGORITHM.md's method) updates them on every block. With n > 1 the other blocks skip the
    /// sampled backward pass and both factor updates, and the absorbed samples get n times the
    /// rate ε, so the factors keep their memory of about 1/ε samples. Warm-up absorbs every block.
    /// A throughput setting: `ngd bench paper --ngd-factor-interval` shows what it costs in
    /// learning on the paper's problems.
    public var factorInterval: Int {
        get { factorIntervalSetting ?? 1 }
        set { factorIntervalSetting = newValue == 1 ? nil : newValue }
    }
    /// Stored as an optional so that settings saved before the setting existed still decode.
    var factorIntervalSetting: Int?
    /// σ² of the Gaussian output model Σ̃ = σ²I. The loss is ½(y − x_L)ᵀΣ̃⁻¹(y − x_L).
    public var outputVariance = 1.0
    /// Health checks and refreshes of the inverse factors.
    public var health = HealthSettings()

    public init() {}

    /// The warm-up length in samples.
    public var warmupSamples: Int { warmup ?? Int((1 / factorRate).rounded(.up)) }

    /// - Throws: ``MathError/invalidSetting(name:value:reason:)`` naming the first bad setting.
    public func validate() throws {
        func positive(_ name: String, _ v: Double) throws {
            guard v > 0, v.isFinite else {
                throw MathError.invalidSetting(name: name, value: "\(v)", reason: "must be a positive number")
            }
        }
        try positive("learning-rate", learningRate)
        guard learningRateDecay >= 0, learningRateDecay.isFinite else {
            throw MathError.invalidSetting(
                name: "learning-rate-decay",
                value: "\(learningRateDecay)",
                reason: "must be ≥ 0"
            )
        }
        guard factorRate > 0, factorRate < 1 else {
            throw MathError.invalidSetting(name: "factor-rate", value: "\(factorRate)", reason: "must be in (0, 1)")
        }
        if let w = warmup, w < 0 {
            throw MathError.invalidSetting(name: "warmup", value: "\(w)", reason: "must be ≥ 0")
        }
        try positive("minimum-damping", minimumDamping)
        try positive("maximum-damping", maximumDamping)
        guard minimumDamping <= maximumDamping else {
            throw MathError.invalidSetting(
                name: "minimum-damping",
                value: "\(minimumDamping)",
                reason: "must not exceed maximum-damping \(maximumDamping)"
            )
        }
        guard initialDamping >= minimumDamping, initialDamping <= maximumDamping else {
            throw MathError.invalidSetting(
                name: "initial-damping",
                value: "\(initialDamping)",
                reason: "must be within [\(minimumDamping), \(maximumDamping)]"
            )
        }
        guard dampingWindow >= 1 else {
            throw MathError.invalidSetting(name: "damping-window", value: "\(dampingWindow)", reason: "must be ≥ 1")
        }
        guard dampingIncrease > 1, dampingIncrease.isFinite else {
            throw MathError.invalidSetting(name: "damping-increase", value: "\(dampingIncrease)", reason: "must be > 1")
        }
        guard dampingDecrease > 0, dampingDecrease < 1 else {
            throw MathError.invalidSetting(
                name: "damping-decrease",
                value: "\(dampingDecrease)",
                reason: "must be in (0, 1)"
            )
        }
        guard lowRatio < highRatio else {
            throw MathError.invalidSetting(
                name: "low-ratio",
                value: "\(lowRatio)",
                reason: "must be below high-ratio \(highRatio)"
            )
        }
        guard modelSamples >= 1, modelSamples <= 64 else {
            throw MathError.invalidSetting(name: "model-samples", value: "\(modelSamples)", reason: "must be in 1...64")
        }
        guard blockSize >= 1, blockSize <= 1024 else {
            throw MathError.invalidSetting(name: "block-size", value: "\(blockSize)", reason: "must be in 1...1024")
        }
        guard factorInterval >= 1, factorInterval <= 1024 else {
            throw MathError.invalidSetting(
                name: "factor-interval",
                value: "\(factorInterval)",
                reason: "must be in 1...1024"
            )
        }
        guard factorRate * Double(factorInterval) < 1 else {
            throw MathError.invalidSetting(
                name: "factor-interval",
                value: "\(factorInterval)",
                reason: "times factor-rate \(factorRate) must be below 1"
            )
        }
        try positive("output-variance", outputVariance)
        try health.validate()
    }
}
