/// How a network's initial weights are drawn. Biases start at zero.
public enum Initialization: Codable, Equatable, Sendable {
    /// W_i ~ N(0, gain²/n_{i-1}), element-wise.
    case gaussian(gain: Double)
    /// W_i = gain × a random (semi-)orthogonal matrix: orthonormal rows when n_i ≤ n_{i-1},
    /// orthonormal columns otherwise.
    case orthogonal(gain: Double)

    /// W_i ~ N(0, gain²/n_{i-1}) for the hidden layers and W_L = 0: the network starts by
    /// predicting 0 (the logits of uniform class probabilities), which learning moves only as
    /// far as the data ask.
    case zeroOutput(gain: Double)

    /// N(0, 1/n_in), the setting used on the paper's problems (docs/algorithm.md).
    public static let standard = Initialization.gaussian(gain: 1)
    /// The hidden layers as ``standard``, the output layer zero: the default of a model.
    public static let student = Initialization.zeroOutput(gain: 1)
}

/// A dense feed-forward network: its architecture and all its parameters in one contiguous
/// Float64 vector (layer by layer, each W_i row-major with its bias as the last column).
///
/// Thread safety: none. The optimizer that trains a network owns it; read it from that thread.
public final class Network {
    /// Layer sizes, activations and bias.
    public let architecture: Architecture
    /// The storage shape of each layer, in order (index 0 is layer 1).
    public let shapes: [LayerShape]
    /// All parameters, `architecture.parameterCount` values.
    package let parameters: DoubleBuffer
    /// The running input statistics, when the architecture standardizes its inputs.
    package let standardizer: InputStandardizer?

    /// A network with weights drawn by `initialization` from a generator seeded with `seed`.
    /// The same architecture, initialisation and seed always give bit-identical weights.
    public init(architecture: Architecture, initialization: Initialization = .standard, seed: UInt64) {
        self.architecture = architecture
        shapes = architecture.layerShapes
        parameters = DoubleBuffer(count: architecture.parameterCount)
        standardizer =
            architecture.standardizesInputs
            ? InputStandardizer(width: architecture.inputSize, centers: architecture.bias) : nil
        var rng = RandomSource(seed: seed)
        for s in shapes {
            let w = parameters.base + s.offset
            switch initialization {
            case .gaussian(let gain), .zeroOutput(let gain):
                if case .zeroOutput = initialization, s.index == architecture.layerCount { continue }
                let sd = gain / Double(s.inputs).squareRoot()
                for r in 0..<s.outputs { for c in 0..<s.inputs { w[r * s.columns + c] = sd * rng.nextGaussian() } }
            case .orthogonal(let gain):
                let q = rng.orthogonalMatrix(rows: s.outputs, columns: s.inputs)
                for r in 0..<s.outputs { for c in 0..<s.inputs { w[r * s.columns + c] = gain * q[r * s.inputs + c] } }
            }
        }
    }

    /// A network restored from a saved ``state``.
    /// - Throws: ``MathError/invalidState(_:)`` when the parameter count does not match the
    ///   architecture, or a parameter is not finite.
    public init(state: NetworkState) throws {
        architecture = state.architecture
        shapes = architecture.layerShapes
        guard state.parameters.count == architecture.parameterCount else {
            throw MathError.invalidState(
                "\(architecture.summary) has \(architecture.parameterCount) parameters, the state has \(state.parameters.count)"
            )
        }
        guard state.parameters.allSatisfy(\.isFinite) else {
            throw MathError.invalidState("the saved parameters contain NaN or infinity")
        }
        parameters = DoubleBuffer(state.parameters)
        if architecture.standardizesInputs {
            let n = architecture.inputSize
            standardizer = try InputStandardizer(
                width: n, centers: architecture.bias, count: state.inputCount ?? 0,
                mean: state.inputMean ?? Array(repeating: 0, count: n),
                variance: state.inputVariance ?? Array(repeating: 1, count: n))
        } else {
            standardizer = nil
        }
    }

    /// A snapshot of the architecture, every parameter and the input statistics.
    public var state: NetworkState {
        var s = NetworkState(architecture: architecture, parameters: parameters.array)
        if let z = standardizer {
            s.inputCount = z.count
            s.inputMean = z.mean.array
            s.inputVariance = z.variance.array
        }
        return s
    }

    /// A deep copy.
    public func copy() -> Network {
        // A state this network produced always restores.
        try! Network(state: state)
    }

    /// The first element of W_i (`layer` is 1-based), row-major `outputs × columns`.
    @inline(__always) package func weights(layer: Int) -> UnsafeMutablePointer<Double> {
        parameters.base + shapes[layer - 1].offset
    }
}

/// A serialisable snapshot of a ``Network``.
public struct NetworkState: Codable, Equatable, Sendable {
    public var architecture: Architecture
    /// Every parameter, in the layout of ``Network/parameters``.
    public var parameters: [Double]
    /// Inputs seen by the standardizer, and its running mean and variance per input (nil when
    /// the architecture does not standardize, and in states saved before it could).
    public var inputCount: Int?
    public var inputMean: [Double]?
    public var inputVariance: [Double]?

    public init(architecture: Architecture, parameters: [Double]) {
        self.architecture = architecture
        self.parameters = parameters
    }
}
