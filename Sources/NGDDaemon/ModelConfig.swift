import NGDMath

/// Which optimizer trains a model.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable, SettingChoice {
    /// Online natural-gradient descent (Sherman–Morrison / Woodbury), the daemon's reason to exist.
    case ngd
    /// Plain stochastic gradient descent on ½‖y − ŷ‖², for comparison.
    case sgd
    /// Adam on ½‖y − ŷ‖², for comparison.
    case adam
}

/// The name of a model setting: the model's own (topic, network, optimizer, seed) or one of its
/// optimizer's training settings.
public enum ModelSettingName: SettingName {
    case topic
    case layers
    case activation
    case bias
    case likelihood
    case standardizeInputs
    case sequencedIDs
    case optimizer
    case seed
    case training(TrainingSetting)

    public var configKey: String {
        switch self {
        case .topic: "topic"
        case .layers: "layers"
        case .activation: "activation"
        case .bias: "bias"
        case .likelihood: "likelihood"
        case .standardizeInputs: "standardize_inputs"
        case .sequencedIDs: "sequenced_ids"
        case .optimizer: "optimizer"
        case .seed: "seed"
        case .training(let t): t.configKey
        }
    }

    public var flag: String {
        switch self {
        case .topic: "--topic"
        case .layers: "--layers"
        case .activation: "--activation"
        case .bias: "--bias"
        case .likelihood: "--likelihood"
        case .standardizeInputs: "--standardize-inputs"
        case .sequencedIDs: "--sequenced-ids"
        case .optimizer: "--optimizer"
        case .seed: "--seed"
        case .training(let t): t.flag
        }
    }
}

/// One row of ``ModelConfig/settings``: a setting, and the optimizer it belongs to.
public struct ModelSetting {
    public let setting: Setting<ModelConfig, ModelSettingName>
    /// The optimizer whose setting this is; nil for a setting of every model.
    public let optimizer: OptimizerKind?
}

/// One hosted model: its topic, network, optimizer and that optimizer's settings (a
/// `[models.NAME]` table). Each setting is declared once, in ``settings``, with its default
/// where it is stored.
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
    /// Gaussian (regression: y is a vector of numbers) or categorical (classes: y is a one-hot
    /// or probability vector, or a class index; predictions are class probabilities).
    public var likelihood = Likelihood.gaussian
    /// Standardize each input by its running mean and variance before the first layer.
    public var standardizeInputs = true
    /// Message ids are consecutive integers from one producer: a jump is counted
    /// (`missed_messages` in stats and status) and logged, since replicas that miss different
    /// messages diverge.
    public var sequencedIDs = false
    public var optimizer: OptimizerKind = .ngd
    /// Seeds the initial weights and the optimizer's random numbers.
    public var seed: UInt64 = 0
    /// σ² of the Gaussian output model: the loss is ½(y − ŷ)ᵀ(σ²I)⁻¹(y − ŷ). NGD uses it in its
    /// Fisher; SGD and Adam ignore it (their rate applies to ½‖y − ŷ‖²).
    public var outputNoise = 1.0
    /// The settings used when ``optimizer`` is `ngd`.
    public var ngd = NaturalGradientSettings()
    /// The settings used when ``optimizer`` is `sgd`.
    public var sgd = SGDSettings()
    /// The settings used when ``optimizer`` is `adam`.
    public var adam = AdamSettings()

    public init(name: String, layers: [Int]) {
        self.name = name
        self.topic = name
        self.layers = layers
    }

    /// Every model setting, once: the model's own, then each optimizer's table.
    public static var settings: [ModelSetting] {
        let own: [Setting<ModelConfig, ModelSettingName>] = [
            Setting(.topic, \.topic, "topic", "Input topic routed to the model; its name unless set."),
            Setting(.layers, \.layers, "sizes", "Layer sizes n0,n1,…,nL, e.g. 20,20,20."),
            Setting(.activation, \.activation, "Hidden activation; the output layer is linear."),
            Setting(.bias, \.bias, "A bias in every layer."),
            Setting(
                .likelihood, \.likelihood,
                "gaussian for numbers (squared loss), categorical for classes (softmax, log loss)."),
            Setting(
                .standardizeInputs, \.standardizeInputs, "Standardize each input by its running mean and variance."),
            Setting(
                .sequencedIDs, \.sequencedIDs,
                "Ids are consecutive integers from one producer: count and log gaps (missed_messages)."),
            Setting(.optimizer, \.optimizer, "The optimizer; the settings below marked for another one do not apply."),
            Setting(.seed, \.seed, "n", "Seed of the initial weights and of the optimizer's sampling."),
            Setting(
                .training(.outputVariance), \.outputNoise, "σ²", "σ² of the output model; the loss is ½‖y − ŷ‖²/σ²."),
        ]
        func lift<S>(
            _ table: [Setting<S, TrainingSetting>], _ path: WritableKeyPath<ModelConfig, S>, _ kind: OptimizerKind
        ) -> [ModelSetting] {
            table.map { ModelSetting(setting: $0.lifted(path, as: ModelSettingName.training), optimizer: kind) }
        }
        return own.map { ModelSetting(setting: $0, optimizer: nil) }
            + lift(NaturalGradientSettings.settings.filter { $0.name != .outputVariance }, \.ngd, .ngd)
            + lift(SGDSettings.settings, \.sgd, .sgd)
            + lift(AdamSettings.settings, \.adam, .adam)
    }

    /// The setting a configuration key names, if any.
    public static func settingName(configKey: String) -> ModelSettingName? {
        settings.first { $0.setting.name.configKey == configKey }?.setting.name
    }

    /// Sets one setting. A training setting goes to this model's optimizer, so set ``optimizer``
    /// first.
    /// - Throws: ``ConfigError`` when the value has the wrong type, or the setting belongs to
    ///   another optimizer (it would be silently ignored otherwise).
    public mutating func set(_ name: ModelSettingName, _ value: SettingValue) throws(ConfigError) {
        let rows = Self.settings.filter { $0.setting.name == name }
        guard let row = rows.first(where: { $0.optimizer == nil || $0.optimizer == optimizer }) else {
            let owners = rows.compactMap { $0.optimizer?.rawValue }.joined(separator: ", ")
            throw ConfigError(
                .model(self.name, name),
                "is a setting of optimizer \(owners); this model's optimizer is \(optimizer.rawValue)")
        }
        do { try row.setting.set(value, in: &self) } catch { throw ConfigError(.model(self.name, name), error.problem) }
    }

    /// The value of a setting for this model's optimizer (nil when unset or not its setting).
    public func value(of name: ModelSettingName) -> SettingValue? {
        Self.settings.first { $0.setting.name == name && ($0.optimizer == nil || $0.optimizer == optimizer) }?.setting
            .value(in: self)
    }

    /// The network's architecture (hidden φ, linear output).
    public func architecture() throws -> Architecture {
        try Architecture(
            sizes: layers, hidden: activation, bias: bias, likelihood: likelihood, standardizesInputs: standardizeInputs
        )
    }

    /// An upper estimate of the memory this model needs, in bytes, or nil when it does not fit
    /// in an `Int`: the weights; the optimizer's state (NGD: the two n × n matrices C and P of
    /// each Fisher factor, Adam: two moments per weight); a checkpoint's copy and encoding of
    /// both; and per-block scratch. Layer sizes that are each allowed can still multiply to
    /// more than any machine holds (`[65536, 65536]` is 34 GB of weights alone).
    public var estimatedBytes: Int? {
        var weights = 0
        var factors = 0
        var widths = 0
        for i in 1..<max(layers.count, 1) {
            let columns = layers[i - 1] + (bias ? 1 : 0)
            let n = layers[i]
            guard let w = Self.checkedSum([weights, Self.checkedProduct([n, columns])]),
                // The output layer's error factor is a K × K matrix for classes, none for a Gaussian.
                let f = Self.checkedSum([
                    factors, Self.checkedProduct([columns, columns]),
                    i < layers.count - 1 || likelihood == .categorical ? Self.checkedProduct([n, n]) : 0,
                ])
            else { return nil }
            weights = w
            factors = f
            widths += n + columns
        }
        let state: Int? =
            switch optimizer {
            case .ngd: Self.checkedProduct([4, factors])
            case .sgd: 0
            case .adam: Self.checkedProduct([2, weights])
            }
        guard let state, let copies = Self.checkedProduct([3, weights]),
            let scratch = Self.checkedProduct([32, blockSize, widths]),
            let doubles = Self.checkedSum([copies, state, scratch])
        else { return nil }
        return Self.checkedProduct([8, doubles])
    }

    /// The product of `values`, or nil on overflow or when any value is nil.
    static func checkedProduct(_ values: [Int?]) -> Int? {
        values.reduce(1 as Int?) { r, v in
            guard let r, let v else { return nil }
            let (p, overflow) = r.multipliedReportingOverflow(by: v)
            return overflow ? nil : p
        }
    }

    /// The sum of `values`, or nil on overflow or when any value is nil.
    static func checkedSum(_ values: [Int?]) -> Int? {
        values.reduce(0 as Int?) { r, v in
            guard let r, let v else { return nil }
            let (s, overflow) = r.addingReportingOverflow(v)
            return overflow ? nil : s
        }
    }

    /// η of this model's optimizer.
    public var learningRate: Double {
        switch optimizer {
        case .ngd: ngd.learningRate
        case .sgd: sgd.learningRate
        case .adam: adam.learningRate
        }
    }

    /// Samples per update of this model's optimizer.
    public var blockSize: Int {
        switch optimizer {
        case .ngd: ngd.blockSize
        case .sgd: sgd.blockSize
        case .adam: adam.blockSize
        }
    }

    /// The NGD settings as used: ``ngd`` with the model's output noise.
    public var naturalGradientSettings: NaturalGradientSettings {
        var s = ngd
        s.outputVariance = outputNoise
        return s
    }

    /// A fresh optimizer (and network) for this configuration.
    public func makeOptimizer() throws -> any Optimizer {
        let network = Network(architecture: try architecture(), initialization: .student, seed: seed)
        switch optimizer {
        case .ngd:
            return try NaturalGradientOptimizer(network: network, settings: naturalGradientSettings, seed: seed &+ 1)
        case .sgd: return try SGDOptimizer(network: network, settings: sgd)
        case .adam: return try AdamOptimizer(network: network, settings: adam)
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
            s.settings = sgd
            return .sgd(s)
        case .adam(var s):
            s.settings = adam
            return .adam(s)
        }
    }

    /// Checks every setting.
    /// - Throws: ``ConfigError`` naming the model and the setting.
    public func validate() throws(ConfigError) {
        guard Self.isValidName(name) else {
            throw ConfigError(.model(name, nil), "a model name must be 1–64 characters of A–Z a–z 0–9 _ -")
        }
        guard !topic.isEmpty, topic.utf8.count <= 255 else {
            throw ConfigError(.model(name, .topic), "must be 1–255 bytes")
        }
        guard layers.count >= 2 else {
            throw ConfigError(.model(name, .layers), "needs at least two sizes (inputs and outputs), got \(layers)")
        }
        do { _ = try architecture() } catch { throw ConfigError(.model(name, .layers), "\(error)") }
        do throws(MathError) {
            switch optimizer {
            case .ngd: try naturalGradientSettings.validate()
            case .sgd: try sgd.validate()
            case .adam: try adam.validate()
            }
        } catch {
            guard case .invalidSetting(let setting, let value, let reason) = error else {
                throw ConfigError(.model(name, nil), "\(error)")
            }
            throw ConfigError(.model(name, .training(setting)), "\(reason), got \(value)")
        }
    }

    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64
            && s.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F
                    || $0 == 0x2D
            }
    }
}
