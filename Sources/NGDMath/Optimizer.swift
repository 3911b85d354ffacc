/// What one ``Optimizer/train(inputs:targets:count:)`` call did.
public struct TrainReport: Equatable, Sendable {
    /// Samples trained on.
    public var samples = 0
    /// Outputs per sample, n_L.
    public var outputSize = 0
    /// Σ over samples and outputs of (y − x_L)², each sample measured *before* the update it
    /// caused: the online (prequential) error, a fair estimate of generalisation.
    public var sumSquaredError = 0.0
    /// Weight updates taken (blocks, for NGD; after warm-up).
    public var steps = 0
    /// NGD steps undone because they raised the block's loss.
    public var rejected = 0
    /// NGD steps shortened to the minimiser of the block's quadratic model.
    public var clipped = 0

    public init(outputSize: Int) { self.outputSize = outputSize }

    /// The mean over samples and outputs of (y − x_L)² before each update.
    public var meanSquaredError: Double { samples == 0 ? 0 : sumSquaredError / Double(samples * outputSize) }

    mutating func merge(_ other: TrainReport) {
        samples += other.samples
        sumSquaredError += other.sumSquaredError
        steps += other.steps
        rejected += other.rejected
        clipped += other.clipped
    }
}

/// An online learner: it takes samples as they arrive and updates its network after each
/// block of them. ``NaturalGradientOptimizer``, ``SGDOptimizer`` and ``AdamOptimizer`` share this
/// interface, so a user can run them side by side on the same stream.
///
/// Thread safety: none. An optimizer and its network belong to one thread at a time.
public protocol Optimizer: AnyObject {
    /// The network being trained (owned by the optimizer; read it, don't replace it).
    var network: Network { get }
    /// Samples trained on so far.
    var samplesSeen: Int { get }
    /// The most samples one internal update takes; longer calls are split into blocks of this.
    var blockSize: Int { get }
    /// A snapshot of everything needed to resume training bit-for-bit.
    var state: OptimizerState { get }
    /// The outputs x_L of the most recent block's forward pass, computed before that block's
    /// update (row-major, k × n_L for the block's k samples). After a ``train(inputs:targets:count:)``
    /// call of at most ``blockSize`` samples these are its predictions, the same values
    /// ``Predictor`` gives for the weights before the call.
    var lastBlockOutputs: [Double] { get }
    /// Trains on `count` samples: `inputs` is row-major `count × n₀`, `targets` `count × n_L`,
    /// in blocks of at most ``blockSize``.
    ///
    /// All input is checked before anything changes. On a wrong length or a non-finite value the
    /// call throws and the network and optimizer are untouched.
    /// - Throws: ``MathError/dimensionMismatch(what:expected:got:)`` or ``MathError/nonFiniteValue(what:index:)``.
    @discardableResult func train(inputs: [Double], targets: [Double], count: Int) throws -> TrainReport
}

/// The pointer-level side of an optimizer, for the package's own hot paths and benchmarks.
package protocol BlockOptimizer: Optimizer {
    /// Trains on one block of `k ≤ blockSize` samples that have already been validated.
    func trainBlock(inputs: UnsafePointer<Double>, targets: UnsafePointer<Double>, count k: Int) -> TrainReport
}

extension BlockOptimizer {
    /// ``Optimizer/train(inputs:targets:count:)`` on buffers: validates everything, then trains
    /// block by block.
    @discardableResult package func train(
        inputs: UnsafeBufferPointer<Double>, targets: UnsafeBufferPointer<Double>, count: Int
    ) throws -> TrainReport {
        let a = network.architecture
        guard count >= 0 else { throw MathError.dimensionMismatch(what: "sample count", expected: 0, got: count) }
        try Network.validate(inputs, count: count, width: a.inputSize, what: "inputs")
        try Network.validate(targets, count: count, width: a.outputSize, what: "targets")
        var report = TrainReport(outputSize: a.outputSize)
        var start = 0
        while start < count {
            let k = min(blockSize, count - start)
            report.merge(
                trainBlock(
                    inputs: inputs.baseAddress! + start * a.inputSize,
                    targets: targets.baseAddress! + start * a.outputSize, count: k))
            start += k
        }
        return report
    }

    /// The array form every optimizer's ``Optimizer/train(inputs:targets:count:)`` calls.
    package func trainArrays(inputs: [Double], targets: [Double], count: Int) throws -> TrainReport {
        try inputs.withUnsafeBufferPointer { x in
            try targets.withUnsafeBufferPointer { y in try train(inputs: x, targets: y, count: count) }
        }
    }
}

/// A serialisable snapshot of any optimizer, for checkpoints.
public enum OptimizerState: Codable, Equatable, Sendable {
    case naturalGradient(NaturalGradientState)
    case sgd(SGDState)
    case adam(AdamState)

    /// Rebuilds the optimizer this state was taken from, ready to continue bit-for-bit.
    /// - Throws: ``MathError/invalidState(_:)`` when the snapshot is inconsistent.
    public func makeOptimizer() throws -> any Optimizer {
        switch self {
        case .naturalGradient(let s): return try NaturalGradientOptimizer(state: s)
        case .sgd(let s): return try SGDOptimizer(state: s)
        case .adam(let s): return try AdamOptimizer(state: s)
        }
    }
}

/// The scratch shared by every optimizer: the forward pass and one set of back-propagated errors.
final class GradientBuffers {
    let pass: PassBuffers
    let errors: [DoubleBuffer]

    init(architecture: Architecture, capacity: Int) {
        pass = PassBuffers(architecture: architecture, capacity: capacity)
        errors = PassBuffers.errorBuffers(architecture: architecture, capacity: capacity)
    }

    /// Samples in the last forward pass.
    private(set) var lastCount = 0

    /// x_L of the last forward pass (row-major, one row per sample of the block).
    var outputs: UnsafePointer<Double> { UnsafePointer(pass.activations[pass.activations.count - 1].base) }

    /// A copy of x_L of the last forward pass, `lastCount × n_L`.
    var lastOutputs: [Double] {
        Array(UnsafeBufferPointer(start: outputs, count: lastCount * (pass.strides.last ?? 0)))
    }

    /// Runs the forward pass, writes e_L = scale·(y − x_L) and back-propagates it.
    /// - Returns: Σ (y − x_L)² over the block, before any update.
    func forwardBackward(
        network: Network, inputs: UnsafePointer<Double>, targets: UnsafePointer<Double>, count k: Int, scale: Double
    ) -> Double {
        network.forward(inputs, count: k, buffers: pass)
        lastCount = k
        let L = network.architecture.layerCount
        let nL = network.architecture.outputSize
        let out = pass.activations[L].base
        let e = errors[L].base
        var sse = 0.0
        for j in 0..<(k * nL) {
            let d = targets[j] - out[j]
            sse += d * d
            e[j] = scale * d
        }
        network.backward(errors: errors, count: k, buffers: pass)
        return sse
    }

    /// W_i += alpha · Σ_j e_ij x_{i-1,j}ᵀ for every layer: a (scaled) negative-gradient step, or,
    /// into a zeroed buffer at `target`, the gradient itself.
    func addGradientOuterProducts(network: Network, count k: Int, alpha: Double, target: UnsafeMutablePointer<Double>) {
        for s in network.shapes {
            Kernels.addOuterProducts(
                k: k, m: s.outputs, n: s.columns, alpha: alpha, u: errors[s.index].base, ldu: s.outputs,
                v: pass.activations[s.index - 1].base, ldv: pass.strides[s.index - 1], w: target + s.offset,
                ldw: s.columns)
        }
    }
}
