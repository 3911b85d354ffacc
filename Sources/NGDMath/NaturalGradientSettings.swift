/// Every constant of online natural-gradient descent, with its default; docs/algorithm.md says
/// what each does and where its default comes from.
///
/// The defaults are meant to need no tuning per stream. Both Fisher factors are running
/// averages that start from a prior of ``priorSamples`` pseudo-samples and are exact averages
/// of what they saw (bias-corrected, so learning starts with the first sample); the step follows
/// the Fisher-efficient schedule η_t = η·max(1/(t + 1 + t₀), φ_t), whose 1/t limit makes one
/// linear layer with a Gaussian likelihood recursive least squares, and whose floor φ_t rises
/// when consecutive steps agree (a stream that moves) and falls when they do not.
public struct NaturalGradientSettings: Codable, Equatable, Sendable, SettingsTable {
    /// η, a scale on the step schedule: ΔW_i = (η_t/L)(P̃_i e_i)(P_i x_{i-1})ᵀ with
    /// η_t = η·max(1/(t + 1 + t₀), φ_t). 1 is the Fisher-efficient schedule.
    public var learningRate = 1.0
    /// t₀: pseudo-samples of the prior the Fisher factors start from (the identity, for
    /// standardized inputs); also offsets the 1/t schedule. More is more shrinkage early on.
    public var priorSamples = 3.0
    /// φ₀: the initial floor of η_t/η and of the factors' rate, which then adapts within
    /// [``minimumFloor``, 1/(2n)] (n the widest factor) when ``adaptiveFloor`` is on.
    public var initialFloor = 1e-2
    /// The lowest the adaptive floor goes.
    public var minimumFloor = 1e-6
    /// Adapt the floor φ_t from how the step of one block moved the next block's loss: ×3/2 when,
    /// over ``floorWindow`` samples, consecutive steps agree on average (a moving stream), ×2/3
    /// when they disagree.
    public var adaptiveFloor = true
    /// Samples per window of the floor's adaptation.
    public var floorWindow = 100
    /// The factors' rate never falls below 1/(``memoryWidths``·n) for a factor of dimension n: the
    /// Fisher memory, in samples, is at most this many times the layer's width.
    public var memoryWidths = 10.0
    /// Samples that only update the factors, before the first step (0: step from the first).
    public var warmup = 0
    /// λ₀, the initial (dimensionless, relative) damping of each factor pair.
    public var initialDamping = 1e-4
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
    /// K: targets sampled from the model per input, for the error factors Λ̃ of the hidden
    /// layers (the output layer's is exact).
    public var modelSamples = 1
    /// k: samples per update. 1 uses Sherman–Morrison; k > 1 uses one rank-k Woodbury update per
    /// factor and a rank-k weight update.
    public var blockSize = 1
    /// Update the Fisher factors on one block in `factorInterval` only; 1 (the default) updates
    /// them on every block. With n > 1 the other blocks skip the sampled backward pass and both
    /// factor updates, and the absorbed samples weigh n times as much. A throughput setting:
    /// `ngd bench paper --factor-interval` shows what it costs in learning.
    public var factorInterval = 1
    /// σ² of the Gaussian output model Σ̃ = σ²I. The loss is ½(y − x_L)ᵀΣ̃⁻¹(y − x_L).
    public var outputVariance = 1.0
    /// Health checks and refreshes of the inverse factors.
    public var health = HealthSettings()

    public init() {}

    /// Every setting, once: its name, its placeholder and its one line of help. Configuration
    /// files, flags, `--help`, the docs and the checkpoint encoding read this table.
    public static var settings: [Setting<Self, TrainingSetting>] {
        [
            Setting(
                .learningRate, \.learningRate, "η",
                "Scale of the step schedule η·max(1/(t+1+t₀), φ_t); 1 is Fisher-efficient."),
            Setting(
                .priorSamples, \.priorSamples, "t₀", "Pseudo-samples of the factors' prior; more shrinks early steps."),
            Setting(.initialFloor, \.initialFloor, "φ", "Initial floor of the step and factor rates."),
            Setting(.minimumFloor, \.minimumFloor, "φ", "Lowest value of the adaptive floor."),
            Setting(.adaptiveFloor, \.adaptiveFloor, "Adapt the floor from whether consecutive steps agree."),
            Setting(.floorWindow, \.floorWindow, "n", "Samples per window of the floor's adaptation."),
            Setting(
                .memoryWidths, \.memoryWidths, "m", "Fisher memory of at most m × the factor's dimension, in samples."),
            Setting(
                .blockSize, \.blockSize, "k", "Samples per step: 1 is Sherman–Morrison, k > 1 one Woodbury block of k."),
            Setting(
                .factorInterval, \.factorInterval, "n",
                "Update the Fisher factors on one block in n (a throughput setting)."),
            Setting(.warmup, \.warmup, "n", "Samples that only update the factors before the first step."),
            Setting(.initialDamping, \.initialDamping, "λ₀", "Initial relative damping λ₀ (dimensionless)."),
            Setting(.minimumDamping, \.minimumDamping, "λ", "Floor of the relative damping."),
            Setting(.maximumDamping, \.maximumDamping, "λ", "Ceiling of the relative damping."),
            Setting(
                .modelSamples, \.modelSamples, "K", "Targets sampled per input for the hidden layers' error factors."),
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
            Setting(.outputVariance, \.outputVariance, "σ²", "σ² of the Gaussian output model."),
        ]
    }

    /// Checks every range, and the settings that constrain each other.
    /// - Throws: ``MathError/invalidSetting(_:value:reason:)`` naming the first bad setting.
    public func validate() throws(MathError) {
        try require(learningRate > 0 && learningRate <= 10, .learningRate, learningRate, "must be in (0, 10]")
        try require(priorSamples >= 0 && priorSamples <= 1e6, .priorSamples, priorSamples, "must be in [0, 1e6]")
        try require(minimumFloor > 0 && minimumFloor < 1, .minimumFloor, minimumFloor, "must be in (0, 1)")
        try require(
            initialFloor >= minimumFloor && initialFloor <= 1, .initialFloor, initialFloor,
            "must be in [\(TrainingSetting.minimumFloor.configKey) \(minimumFloor), 1]")
        try require((1...1_000_000).contains(floorWindow), .floorWindow, floorWindow, "must be in 1...1000000")
        try require(memoryWidths >= 1 && memoryWidths <= 1e6, .memoryWidths, memoryWidths, "must be in [1, 1e6]")
        try require(warmup >= 0 && warmup <= 1 << 40, .warmup, warmup, "must be in 0...2^40")
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
            outputVariance > 0 && outputVariance.isFinite, .outputVariance, outputVariance, "must be a positive number")
        try health.validate()
    }
}

/// Throws ``MathError/invalidSetting(_:value:reason:)`` for `setting` unless `condition` holds.
func require(_ condition: Bool, _ setting: TrainingSetting, _ value: some Any, _ reason: String) throws(MathError) {
    guard condition else { throw .invalidSetting(setting, value: "\(value)", reason: reason) }
}
