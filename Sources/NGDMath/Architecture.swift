/// How the network's outputs x_L define a distribution over targets: the likelihood whose
/// negative log is the loss, and whose Fisher information the natural gradient uses.
public enum Likelihood: String, Codable, CaseIterable, Sendable, SettingChoice {
    /// y ~ N(x_L, σ²I): the loss is ½‖y − x_L‖²/σ² and the prediction is x_L.
    case gaussian
    /// y ~ Categorical(softmax(x_L)): x_L are logits, the loss is the cross-entropy
    /// −Σ_j y_j log p_j (y one-hot or a probability vector), and the prediction is p.
    case categorical
}

/// The shape of a dense feed-forward network: layer sizes n₀…n_L, the activation of each
/// layer, whether layers have biases, the likelihood of its outputs, and whether its inputs are
/// standardized.
///
/// Layer i maps x_{i-1} ∈ R^{n_{i-1}} to x_i = φ_i(W_i x_{i-1} + b_i). The output layer is always
/// linear (φ_L = identity), as the Gaussian output model needs. With `bias`, b_i is stored as
/// the last column of W_i and x_{i-1} is augmented with a constant 1, as in the paper.
public struct Architecture: Codable, Equatable, Hashable, Sendable {
    /// n₀ (inputs) through n_L (outputs).
    public let sizes: [Int]
    /// φ₁…φ_L, one per layer. The last is `.identity`.
    public let activations: [Activation]
    /// Whether every layer has a bias column.
    public let bias: Bool
    /// The distribution of targets given the outputs.
    public let likelihood: Likelihood
    /// Whether inputs are standardized, feature by feature, by their running mean and
    /// variance before the first layer (``InputStandardizer``).
    public let standardizesInputs: Bool

    /// The largest layer size ngd accepts, a guard against a typo allocating terabytes.
    public static let maximumLayerSize = 1 << 16

    /// An architecture with per-layer activations.
    /// - Throws: ``MathError/invalidArchitecture(_:)`` when there is no layer, a size is not in
    ///   1…65536, the activation count is not the layer count, or the output layer is not linear.
    public init(
        sizes: [Int], activations: [Activation], bias: Bool, likelihood: Likelihood = .gaussian,
        standardizesInputs: Bool = false
    ) throws {
        guard sizes.count >= 2 else {
            throw MathError.invalidArchitecture("need at least an input and an output size, got \(sizes)")
        }
        if let bad = sizes.firstIndex(where: { $0 < 1 || $0 > Self.maximumLayerSize }) {
            throw MathError.invalidArchitecture(
                "layer size \(sizes[bad]) at position \(bad) is outside 1...\(Self.maximumLayerSize)")
        }
        guard activations.count == sizes.count - 1 else {
            throw MathError.invalidArchitecture(
                "\(sizes.count - 1) layers need \(sizes.count - 1) activations, got \(activations.count)")
        }
        guard activations.last == .identity else {
            throw MathError.invalidArchitecture("the output layer must be linear (identity), got \(activations.last!)")
        }
        if likelihood == .categorical, sizes[sizes.count - 1] < 2 {
            throw MathError.invalidArchitecture("a categorical output needs at least 2 classes, got \(sizes.last!)")
        }
        self.sizes = sizes
        self.activations = activations
        self.bias = bias
        self.likelihood = likelihood
        self.standardizesInputs = standardizesInputs
    }

    private enum CodingKeys: String, CodingKey { case sizes, activations, bias, likelihood, standardizesInputs }

    /// Decodes and validates, so a corrupted checkpoint throws instead of building a network
    /// that cannot exist.
    /// - Throws: ``MathError/invalidArchitecture(_:)`` as ``init(sizes:activations:bias:)`` does.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            sizes: try c.decode([Int].self, forKey: .sizes),
            activations: try c.decode([Activation].self, forKey: .activations),
            bias: try c.decode(Bool.self, forKey: .bias),
            likelihood: try c.decodeIfPresent(Likelihood.self, forKey: .likelihood) ?? .gaussian,
            standardizesInputs: try c.decodeIfPresent(Bool.self, forKey: .standardizesInputs) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sizes, forKey: .sizes)
        try c.encode(activations, forKey: .activations)
        try c.encode(bias, forKey: .bias)
        try c.encode(likelihood, forKey: .likelihood)
        try c.encode(standardizesInputs, forKey: .standardizesInputs)
    }

    /// An architecture whose hidden layers all use `hidden` and whose output layer is linear.
    public init(
        sizes: [Int], hidden: Activation, bias: Bool, likelihood: Likelihood = .gaussian,
        standardizesInputs: Bool = false
    ) throws {
        let layers = max(sizes.count - 1, 0)
        try self.init(
            sizes: sizes,
            activations: Array(repeating: hidden, count: max(layers - 1, 0)) + (layers > 0 ? [.identity] : []),
            bias: bias, likelihood: likelihood, standardizesInputs: standardizesInputs)
    }

    /// The number of layers, L.
    public var layerCount: Int { sizes.count - 1 }
    /// n₀.
    public var inputSize: Int { sizes[0] }
    /// n_L.
    public var outputSize: Int { sizes[sizes.count - 1] }

    /// The storage shape of every layer's weight matrix, in order, with offsets into one
    /// contiguous parameter vector.
    public var layerShapes: [LayerShape] {
        var shapes = [LayerShape]()
        var offset = 0
        for i in 1...layerCount {
            let s = LayerShape(
                index: i, inputs: sizes[i - 1], outputs: sizes[i], columns: sizes[i - 1] + (bias ? 1 : 0),
                offset: offset, activation: activations[i - 1])
            shapes.append(s)
            offset += s.outputs * s.columns
        }
        return shapes
    }

    /// The total number of trainable parameters (weights and biases).
    public var parameterCount: Int { layerShapes.reduce(0) { $0 + $1.outputs * $1.columns } }

    /// A compact description such as `20-30-20 tanh/linear, bias` or `20-20-20 linear`.
    public var summary: String {
        let acts = Set(activations.dropLast()).subtracting([.identity]).map(\.rawValue).sorted().joined(separator: ",")
        return sizes.map(String.init).joined(separator: "-") + (acts.isEmpty ? " linear" : " \(acts)/linear")
            + (bias ? ", bias" : "") + (likelihood == .categorical ? ", categorical" : "")
            + (standardizesInputs ? ", standardized inputs" : "")
    }
}

/// Where one layer's weights live and how they are shaped.
public struct LayerShape: Equatable, Sendable {
    /// The layer number i, 1-based as in the paper.
    public let index: Int
    /// n_{i-1}.
    public let inputs: Int
    /// n_i.
    public let outputs: Int
    /// n_{i-1} + 1 with a bias, else n_{i-1}: the row length of W_i and the size of Λ_i.
    public let columns: Int
    /// The offset of W_i (row-major, `outputs × columns`) in the parameter vector.
    public let offset: Int
    /// φ_i.
    public let activation: Activation
}
