import NGDMath

/// Which optimizer trains a model.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable {
    /// Online natural-gradient descent (Sherman–Morrison / Woodbury), the daemon's reason to exist.
    case ngd
    /// Plain stochastic gradient descent on ½‖y − ŷ‖², for comparison.
    case sgd
    /// Adam on ½‖y − ŷ‖², for comparison.
    case adam

    /// The learning rate used when none is configured.
    public var defaultLearningRate: Double {
        switch self {
        case .ngd: return NaturalGradientSettings().learningRate
        case .sgd: return 0.01
        case .adam: return 1e-3
        }
    }
}

/// One hosted model: its topic, network and optimizer settings (a `[models.NAME]` table).
public struct ModelConfig: Equatable, Sendable {
    /// The model's name: used in output topics (`loss.NAME`) and checkpoint file names.
    public var name: String
    /// The exact input topic routed to this model; the name unless set.
    public var topic: String
    /// n₀, n₁, …, n_L.
    public var layers: [Int]
    /// φ of the hidden layers; the output layer is linear.
    public var activation: Activation = .tanh
    /// Whether each layer has a bias.
    public var bias = true
    /// σ² of the Gaussian output model: the loss is ½(y − ŷ)ᵀ(σ²I)⁻¹(y − ŷ). NGD uses it in its
    /// Fisher; SGD and Adam ignore it (their rate applies to ½‖y − ŷ‖²).
    public var outputNoise = 1.0
    public var optimizer: OptimizerKind = .ngd
    /// η; nil uses ``OptimizerKind/defaultLearningRate``.
    public var learningRate: Double?
    /// Samples per weight update: 1 is Sherman–Morrison, k > 1 one Woodbury block of k.
    public var batch = 1
    /// Seeds the initial weights and the optimizer's random numbers.
    public var seed: UInt64 = 0
    /// NGD only: η_t = η/(1 + decay·t).
    public var learningRateDecay = NaturalGradientSettings().learningRateDecay
    /// NGD only: ε, the Fisher factors' moving-average rate.
    public var factorRate = NaturalGradientSettings().factorRate
    /// NGD only: update the Fisher factors on one block in this many (1: every block).
    public var factorInterval = 1
    /// NGD only: λ₀, the initial damping.
    public var damping = NaturalGradientSettings().initialDamping
    /// NGD only: λ_min.
    public var minimumDamping = NaturalGradientSettings().minimumDamping
    /// NGD only: λ_max.
    public var maximumDamping = NaturalGradientSettings().maximumDamping

    public init(name: String, layers: [Int]) {
        self.name = name
        self.topic = name
        self.layers = layers
    }

    /// The network's architecture (hidden φ, linear output).
    public func architecture() throws -> Architecture {
        try Architecture(sizes: layers, hidden: activation, bias: bias)
    }

    /// η as used.
    public var effectiveLearningRate: Double { learningRate ?? optimizer.defaultLearningRate }

    /// The NGD settings this configuration asks for.
    public var naturalGradientSettings: NaturalGradientSettings {
        var s = NaturalGradientSettings()
        s.learningRate = effectiveLearningRate
        s.learningRateDecay = learningRateDecay
        s.factorRate = factorRate
        s.factorInterval = factorInterval
        s.initialDamping = damping
        s.minimumDamping = minimumDamping
        s.maximumDamping = maximumDamping
        s.blockSize = batch
        s.outputVariance = outputNoise
        return s
    }

    /// A fresh optimizer (and network) for this configuration.
    public func makeOptimizer() throws -> any Optimizer {
        let network = Network(architecture: try architecture(), seed: seed)
        switch optimizer {
        case .ngd:
            return try NaturalGradientOptimizer(network: network, settings: naturalGradientSettings, seed: seed &+ 1)
        case .sgd:
            return try SGDOptimizer(
                network: network,
                settings: SGDSettings(learningRate: effectiveLearningRate, blockSize: batch)
            )
        case .adam:
            return try AdamOptimizer(
                network: network,
                settings: AdamSettings(learningRate: effectiveLearningRate, blockSize: batch)
            )
        }
    }

    /// `state` with this configuration's optimizer settings in place of the saved ones, so that a
    /// changed learning rate or batch in the config takes effect after a restart.
    func applyingSettings(to state: OptimizerState) -> OptimizerState {
        switch state {
        case .naturalGradient(var s):
            s.settings = naturalGradientSettings
            return .naturalGradient(s)
        case .sgd(var s):
            s.settings = SGDSettings(learningRate: effectiveLearningRate, blockSize: batch)
            return .sgd(s)
        case .adam(var s):
            s.settings.learningRate = effectiveLearningRate
            s.settings.blockSize = batch
            return .adam(s)
        }
    }

    /// Checks every setting; the error names the key as `models.NAME.key`.
    public func validate() throws {
        let p = "models.\(name)."
        guard Self.isValidName(name) else {
            throw ConfigError(key: "models.\(name)", "a model name must be 1–64 characters of A–Z a–z 0–9 _ -")
        }
        guard !topic.isEmpty, topic.utf8.count <= 255 else {
            throw ConfigError(key: p + "topic", "must be 1–255 bytes")
        }
        guard layers.count >= 2 else {
            throw ConfigError(key: p + "layers", "needs at least two sizes (inputs and outputs), got \(layers)")
        }
        do { _ = try architecture() } catch let e as MathError { throw ConfigError(key: p + "layers", "\(e)") }
        guard outputNoise > 0, outputNoise.isFinite else {
            throw ConfigError(key: p + "output_noise", "must be a positive number, got \(outputNoise)")
        }
        guard batch >= 1, batch <= 1024 else {
            throw ConfigError(key: p + "batch", "must be in 1...1024, got \(batch)")
        }
        if let lr = learningRate, !(lr > 0 && lr.isFinite) {
            throw ConfigError(key: p + "learning_rate", "must be a positive number, got \(lr)")
        }
        do {
            switch optimizer {
            case .ngd: try naturalGradientSettings.validate()
            case .sgd: try SGDSettings(learningRate: effectiveLearningRate, blockSize: batch).validate()
            case .adam: try AdamSettings(learningRate: effectiveLearningRate, blockSize: batch).validate()
            }
        } catch let e as MathError {
            if case .invalidSetting(let name, _, _) = e {
                let key = name.replacingDashes()
                throw ConfigError(key: p + (Self.settingKeys[key] ?? key), "\(e)")
            }
            throw ConfigError(key: "models.\(name)", "\(e)")
        }
    }

    /// NGDMath setting names → the config keys that set them.
    static let settingKeys = [
        "learning_rate_decay": "learning_rate_decay", "factor_rate": "factor_rate",
        "factor_interval": "factor_interval", "initial_damping": "damping",
        "minimum_damping": "min_damping", "maximum_damping": "max_damping", "block_size": "batch",
        "output_variance": "output_noise", "learning_rate": "learning_rate",
    ]

    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64
            && s.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F
                    || $0 == 0x2D
            }
    }
}

extension String {
    func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}
