/// What one ``Optimizer/train(inputs:targets:count:)`` call did.
public struct TrainReport: Equatable, Sendable {
    /// Samples trained on.
    public var samples = 0
    /// Outputs per sample, n_L.
    public var outputSize = 0
    /// Σ over samples and outputs of (y − x_L)², each sample measured *before* the update it
    /// caused: the online (prequential) error, a fair estimate of generalisation.
    public var sumSquaredError = 0.0
    /// Σ of the per-sample loss before each update: ½‖y − x_L‖² (Gaussian, before any 1/σ²) or
    /// the cross-entropy (categorical).
    public var sumLoss = 0.0
    /// Weight updates taken (blocks, for NGD; after warm-up).
    public var steps = 0
    /// NGD steps undone because they raised the block's loss.
    public var rejected = 0
    /// NGD steps shortened to the minimiser of the block's quadratic model.
    public var clipped = 0

    public init(outputSize: Int) { self.outputSize = outputSize }

    /// The report of a block of `k` samples scored `score` before its update, with nothing
    /// learned yet.
    init(outputSize: Int, samples k: Int, score: GradientBuffers.BlockScore) {
        self.outputSize = outputSize
        samples = k
        sumSquaredError = score.squaredError
        sumLoss = score.loss
    }

    /// The mean over samples and outputs of (y − x_L)² before each update.
    public var meanSquaredError: Double { samples == 0 ? 0 : sumSquaredError / Double(samples * outputSize) }

    mutating func merge(_ other: TrainReport) {
        samples += other.samples
        sumSquaredError += other.sumSquaredError
        sumLoss += other.sumLoss
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
    /// Blocks whose step was not applied, since the start: NGD's that raised their own loss,
    /// and every optimizer's that would have made the model non-finite.
    var rejectedSteps: Int { get }
    /// Of ``rejectedSteps``, the blocks refused because a weight, a factor or an input statistic
    /// would have become NaN or infinite.
    var nonFiniteSteps: Int { get }
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
    /// The predictions of the last forward pass: x_L (Gaussian) or softmax(x_L) (categorical).
    let predictions: DoubleBuffer
    /// The last block's test-then-train predictions: those of the weights and input statistics
    /// from before the block (equal to ``predictions`` without a standardizer).
    let published: DoubleBuffer
    let likelihood: Likelihood

    init(architecture: Architecture, capacity: Int) {
        pass = PassBuffers(architecture: architecture, capacity: capacity)
        errors = PassBuffers.errorBuffers(architecture: architecture, capacity: capacity)
        predictions = DoubleBuffer(count: capacity * architecture.outputSize)
        published = DoubleBuffer(count: capacity * architecture.outputSize)
        likelihood = architecture.likelihood
    }

    /// Samples in the last forward pass.
    private(set) var lastCount = 0

    /// x_L of the last forward pass (row-major, one row per sample of the block).
    var outputs: UnsafePointer<Double> { UnsafePointer(pass.activations[pass.activations.count - 1].base) }

    /// A copy of the last block's test-then-train predictions, `lastCount × n_L`.
    var lastOutputs: [Double] {
        Array(UnsafeBufferPointer(start: published.base, count: lastCount * (pass.strides.last ?? 0)))
    }

    /// What a block scored before its update.
    struct BlockScore {
        /// Σ (y − ŷ)² over the block, ŷ its test-then-train predictions (x_L, or class
        /// probabilities).
        var squaredError = 0.0
        /// Σ of the per-sample loss of those predictions: ½‖y − x_L‖² (before any 1/σ²), or the
        /// cross-entropy.
        var loss = 0.0
        /// The loss of the learning pass, whose inputs are standardized with statistics that
        /// include the block (equal to `loss` without a standardizer): the step's trial compares
        /// its loss with this.
        var lossBeforeStep = 0.0
        /// The block cannot be learned without a NaN or infinity: an input statistic, an
        /// activation's square, the loss or an error would not be finite. Nothing was changed.
        var refused = false
    }

    /// Predicts the block with the input statistics before it (the published, test-then-train
    /// predictions and score), folds the inputs into the network's standardizer (when `observe`
    /// and it has one), runs the learning forward pass, writes e_L = −∂loss/∂x_L and
    /// back-propagates it: e_L = scale·(y − x_L) for a Gaussian, y − softmax(x_L) for a
    /// categorical likelihood (`scale` unused). Without a standardizer the two passes are one.
    func forwardBackward(
        network: Network, inputs: UnsafePointer<Double>, targets: UnsafePointer<Double>, count k: Int, scale: Double,
        observe: Bool = true
    ) -> BlockScore {
        // The block learns from inputs standardized with statistics that include it, so every
        // standardized input the factors absorb is bounded: |z_j| ≤ √n after n inputs
        // (Samuelson's inequality). Statistics from before the block bound nothing: the second
        // value of a feature measured in the thousands would reach the first layer at raw scale.
        let standardizer = observe ? network.standardizer : nil
        let n0 = network.architecture.inputSize
        let L = network.architecture.layerCount
        let nL = network.architecture.outputSize
        var score = BlockScore()
        // Test-then-train: the published predictions are those of the statistics before the
        // block (a separate prediction pass gives the same), from a forward pass of their own.
        // Before any statistics exist, the first block sets them and is predicted after.
        let separate = standardizer.map { $0.count > 0 } ?? false
        if separate {
            network.forward(inputs, count: k, buffers: pass)
            score = predict(into: published, targets: targets, count: k)
        }
        if let z = standardizer, !z.observe(inputs, count: k, stride: n0) {
            // No prediction can be made from inputs the statistics cannot hold.
            lastCount = k
            published.base.update(repeating: .nan, count: k * nL)
            return BlockScore(squaredError: .infinity, loss: .infinity, refused: true)
        }
        network.forward(inputs, count: k, buffers: pass)
        lastCount = k
        let learning = predict(into: predictions, targets: targets, count: k)
        if !separate {
            published.base.update(from: predictions.base, count: k * nL)
            score = learning
        }
        score.lossBeforeStep = learning.loss
        let e = errors[L].base
        let p = predictions.base
        let errorScale = likelihood == .gaussian ? scale : 1
        for j in 0..<(k * nL) { e[j] = errorScale * (targets[j] - p[j]) }
        network.backward(errors: errors, count: k, buffers: pass)
        guard score.lossBeforeStep.isFinite, blockIsRepresentable(network: network, count: k) else {
            standardizer?.undoLastObservation()
            score.refused = true
            return score
        }
        return score
    }

    /// Turns the x_L of the last forward pass into predictions (x_L, or softmax(x_L)) in `p`,
    /// and scores them against `targets`.
    private func predict(into p: DoubleBuffer, targets: UnsafePointer<Double>, count k: Int) -> BlockScore {
        let L = pass.activations.count - 1
        let nL = pass.strides[L]
        let out = pass.activations[L].base
        p.base.update(from: out, count: k * nL)
        likelihood.predict(p.base, count: k, width: nL)
        var score = BlockScore()
        for r in 0..<k {
            score.loss += Likelihood.loss(likelihood, outputs: out + r * nL, targets: targets + r * nL, width: nL)
        }
        for j in 0..<(k * nL) {
            let d = targets[j] - p.base[j]
            score.squaredError += d * d
        }
        return score
    }

    /// Whether n·max|v_j|² is finite (false for any NaN).
    @inline(__always) static func squaresStayFinite(_ v: UnsafePointer<Double>, _ n: Int) -> Bool {
        var top = 0.0
        for j in 0..<n {
            let a = abs(v[j])
            if !(a <= top) { top = a }
        }
        return top * top * Double(n) < .infinity
    }

    /// Whether every activation and error of the last pass is finite, with squares summed over
    /// a layer that stay finite (the Fisher factors absorb their outer products).
    func blockIsRepresentable(network: Network, count k: Int) -> Bool {
        for s in network.shapes {
            let x = pass.activations[s.index - 1].base
            let ld = pass.strides[s.index - 1]
            let e = errors[s.index].base
            for r in 0..<k {
                guard Self.squaresStayFinite(x + r * ld, s.columns),
                    Self.squaresStayFinite(e + r * s.outputs, s.outputs)
                else { return false }
            }
        }
        let out = pass.activations[network.architecture.layerCount].base
        for j in 0..<(k * network.architecture.outputSize) where !out[j].isFinite { return false }
        return true
    }

    /// The largest entry a step may add to a weight: larger (or non-finite) steps are refused.
    static let largestStep = 1e100

    /// An upper bound of |alpha·Σ_r u_r v_rᵀ| entry-wise: alpha·Σ_r max|u_r|·max|v_r|; infinite
    /// when any entry is not finite.
    static func outerProductBound(
        k: Int, alpha: Double, u: UnsafePointer<Double>, m: Int, ldu: Int, v: UnsafePointer<Double>, n: Int, ldv: Int
    ) -> Double {
        var bound = 0.0
        for r in 0..<k {
            var mu = 0.0
            var mv = 0.0
            for j in 0..<m {
                let a = abs(u[r * ldu + j])
                guard a.isFinite else { return .infinity }
                mu = max(mu, a)
            }
            for j in 0..<n {
                let a = abs(v[r * ldv + j])
                guard a.isFinite else { return .infinity }
                mv = max(mv, a)
            }
            bound += mu * mv
        }
        let b = abs(alpha) * bound
        return b.isNaN ? .infinity : b
    }

    /// Whether the gradient step alpha·Σ_j e_ij x_{i-1,j}ᵀ is finite and below ``largestStep`` in
    /// every layer.
    func gradientStepIsSafe(network: Network, count k: Int, alpha: Double) -> Bool {
        network.shapes.allSatisfy { s in
            Self.outerProductBound(
                k: k, alpha: alpha, u: errors[s.index].base, m: s.outputs, ldu: s.outputs,
                v: pass.activations[s.index - 1].base, n: s.columns, ldv: pass.strides[s.index - 1]) < Self.largestStep
        }
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
