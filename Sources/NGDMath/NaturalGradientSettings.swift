/// Every constant of online natural-gradient descent, with its default; docs/algorithm.md says
/// what each does and where its default comes from.
public struct NaturalGradientSettings: Codable, Equatable, Sendable {
    /// η: the step is ΔW_i = (η_t/L)(P̃_i e_i)(P_i x_{i-1})ᵀ. `ngd bench paper` uses 0.02 (see
    /// `PaperBench`); this is the library's default.
    public var learningRate = 0.01
    /// η_t = η/(1 + learningRateDecay·t), t counting samples.
    public var learningRateDecay = 1e-4
    /// η_min: η_t = max(η/(1 + decay·t), η_min), so that the step of a long-running model does
    /// not decay to nothing on a stream that keeps changing. 0 (the default) is no floor.
    public var minimumLearningRate: Double {
        get { minimumLearningRateSetting ?? 0 }
        set { minimumLearningRateSetting = newValue == 0 ? nil : newValue }
    }
    /// Stored as an optional so that settings saved before the setting existed still decode.
    var minimumLearningRateSetting: Double?
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
    /// the method of docs/algorithm.md) updates them on every block. With n > 1 the other blocks skip the
    /// sampled backward pass and both factor updates, and the absorbed samples get n times the
    /// rate ε, so the factors keep their memory of about 1/ε samples. Warm-up absorbs every block.
    /// A throughput setting: `ngd bench paper --factor-interval` shows what it costs in
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

    /// Every setting, once: its name, its placeholder and its one line of help. Configuration
    /// files, flags, `--help` and the docs read this table.
    public static var settings: [Setting<Self, TrainingSetting>] {
        [
            Setting(.learningRate, \.learningRate, "η", "Step size η (NGD: ΔW_i = (η_t/L)(P̃_i e_i)(P_i x_{i-1})ᵀ)."),
            Setting(.learningRateDecay, \.learningRateDecay, "decay", "η_t = η/(1 + decay·t), t in samples."),
            Setting(.minimumLearningRate, \.minimumLearningRate, "η", "Floor of η_t (0: none)."),
            Setting(
                .blockSize, \.blockSize, "k", "Samples per step: 1 is Sherman–Morrison, k > 1 one Woodbury block of k."),
            Setting(
                .factorRate, \.factorRate, "ε", "Moving-average rate of the Fisher factors (memory ≈ 1/ε samples)."),
            Setting(
                .factorInterval, \.factorInterval, "n",
                "Update the Fisher factors on one block in n, at rate nε (a throughput setting; 1 updates every block)."
            ),
            Setting(.warmup, \.warmup, "n", "Samples that only update the factors, at rate 1/(t+2) (default ⌈1/ε⌉)."),
            Setting(.initialDamping, \.initialDamping, "λ₀", "Initial relative damping λ₀ (dimensionless)."),
            Setting(.minimumDamping, \.minimumDamping, "λ", "Floor of the relative damping."),
            Setting(.maximumDamping, \.maximumDamping, "λ", "Ceiling of the relative damping."),
            Setting(
                .modelSamples, \.modelSamples, "K", "Targets sampled from the model per input, for the error factors."),
            Setting(
                .dampingWindow, \.dampingWindow, "n",
                "Samples per adaptive-damping window (ρ = actual/predicted decrease)."),
            Setting(
                .dampingIncrease, \.dampingIncrease, "×",
                "λ ← λ·this when ρ is below damping_low_ratio, and on a rejected step."),
            Setting(.dampingDecrease, \.dampingDecrease, "×", "λ ← λ·this when ρ is above damping_high_ratio."),
            Setting(.lowRatio, \.lowRatio, "ρ", "ρ below which damping increases (paper Eq. 21: 1/4)."),
            Setting(.highRatio, \.highRatio, "ρ", "ρ above which damping decreases (paper Eq. 21: 3/4)."),
            Setting(
                .clipToModelMinimum, \.clipToModelMinimum,
                "Clip η_t to the minimiser of the block's own quadratic model."),
            Setting(
                .rejectWorseSteps, \.rejectWorseSteps, "Undo a step that raised its own block's loss, and raise λ."),
            Setting(
                .healthInterval, \.health.interval, "n", "Check each inverse factor's drift every n updates (0: never)."
            ),
            Setting(
                .driftTolerance, \.health.driftTolerance, "tol",
                "Largest drift ‖PC − I‖/√n before P is re-inverted from C."),
            Setting(
                .refreshInterval, \.health.refreshInterval, "n",
                "Also re-invert every n updates (0: only when unhealthy)."),
        ]
    }

    /// The warm-up length in samples.
    public var warmupSamples: Int { warmup ?? Int((1 / factorRate).rounded(.up)) }

    /// Checks every range, and the settings that constrain each other.
    /// - Throws: ``MathError/invalidSetting(_:value:reason:)`` naming the first bad setting.
    public func validate() throws(MathError) {
        try require(learningRate > 0 && learningRate.isFinite, .learningRate, learningRate, "must be a positive number")
        try require(
            learningRateDecay >= 0 && learningRateDecay.isFinite, .learningRateDecay, learningRateDecay, "must be ≥ 0")
        try require(
            minimumLearningRate >= 0 && minimumLearningRate <= learningRate, .minimumLearningRate, minimumLearningRate,
            "must be in [0, \(TrainingSetting.learningRate.configKey) \(learningRate)]")
        try require(factorRate > 0 && factorRate < 1, .factorRate, factorRate, "must be in (0, 1)")
        if let w = warmup { try require(w >= 0, .warmup, w, "must be ≥ 0") }
        try require(
            minimumDamping > 0 && minimumDamping.isFinite, .minimumDamping, minimumDamping, "must be a positive number")
        try require(
            maximumDamping > 0 && maximumDamping.isFinite, .maximumDamping, maximumDamping, "must be a positive number")
        try require(
            minimumDamping <= maximumDamping, .minimumDamping, minimumDamping,
            "must not exceed \(TrainingSetting.maximumDamping.configKey) \(maximumDamping)")
        try require(
            initialDamping >= minimumDamping && initialDamping <= maximumDamping, .initialDamping, initialDamping,
            "must be within [\(minimumDamping), \(maximumDamping)] (\(TrainingSetting.minimumDamping.configKey), "
                + "\(TrainingSetting.maximumDamping.configKey))")
        try require(dampingWindow >= 1, .dampingWindow, dampingWindow, "must be ≥ 1")
        try require(dampingIncrease > 1 && dampingIncrease.isFinite, .dampingIncrease, dampingIncrease, "must be > 1")
        try require(dampingDecrease > 0 && dampingDecrease < 1, .dampingDecrease, dampingDecrease, "must be in (0, 1)")
        try require(
            lowRatio < highRatio, .lowRatio, lowRatio,
            "must be below \(TrainingSetting.highRatio.configKey) \(highRatio)")
        try require((1...64).contains(modelSamples), .modelSamples, modelSamples, "must be in 1...64")
        try require((1...1024).contains(blockSize), .blockSize, blockSize, "must be in 1...1024")
        try require((1...1024).contains(factorInterval), .factorInterval, factorInterval, "must be in 1...1024")
        try require(
            factorRate * Double(factorInterval) < 1, .factorInterval, factorInterval,
            "times \(TrainingSetting.factorRate.configKey) \(factorRate) must be below 1")
        try require(
            outputVariance > 0 && outputVariance.isFinite, .outputVariance, outputVariance, "must be a positive number")
        try health.validate()
    }
}

/// Throws ``MathError/invalidSetting(_:value:reason:)`` for `setting` unless `condition` holds.
func require(_ condition: Bool, _ setting: TrainingSetting, _ value: some Any, _ reason: String) throws(MathError) {
    guard condition else { throw .invalidSetting(setting, value: "\(value)", reason: reason) }
}
