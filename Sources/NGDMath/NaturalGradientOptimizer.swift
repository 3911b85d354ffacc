/// Online natural-gradient descent (Bernacchia, Lengyel & Hennequin, NeurIPS 2018, Eq. 10/20/21)
/// with Sherman–Morrison inverse Fisher factors, as set out in docs/algorithm.md.
///
/// For each block of k samples (k = 1 by default):
/// 1. forward pass; errors e_i back-propagated from the true y (they feed only the gradient);
/// 2. K targets sampled from the model, y_s ~ N(x_L, σ²I), and their errors ẽ_i back-propagated;
/// 3. each layer's factors absorb the block (before the step, as in recursive least squares):
///    Λ_i from x_{i-1} and Λ̃_i from ẽ_i, with relative damping by cyclic identity injection;
/// 4. after warm-up, the step ΔW_i = (η_t/L) Σ_j (P̃_i e_ij)(P_i x_{i-1,j})ᵀ, where η_t is clipped
///    to the minimiser lin/q of the block's Gauss–Newton model (q by one forward-mode pass);
/// 5. a trial forward pass gives the actual decrease; a step that raised the block's loss is
///    rejected (never applied) and λ grows by 3/2;
/// 6. every `dampingWindow` samples, ρ = Σ actual / Σ predicted sets λ (paper Eq. 21).
///
/// Per sample this costs a few matrix-vector products per layer, and nothing is allocated.
///
/// Thread safety: none. Use an optimizer from one thread at a time.
public final class NaturalGradientOptimizer: BlockOptimizer {
    public let network: Network
    public let settings: NaturalGradientSettings
    /// Λ_i⁻¹ estimators, one per layer (dimension n_{i-1} + bias).
    public let factors: [InverseCovariance]
    /// Λ̃_i⁻¹ estimators, one per layer (dimension n_i).
    public let errorFactors: [InverseCovariance]
    /// λ, the current relative damping.
    public private(set) var damping: Double
    /// The generator of the sampled targets.
    public private(set) var random: RandomSource
    public private(set) var samplesSeen = 0
    /// Steps applied, steps rejected, and steps clipped, since the start.
    public private(set) var counters = Counters()
    /// The running sums of the current damping window.
    private(set) var window = Window()

    /// Step counters.
    public struct Counters: Codable, Equatable, Sendable {
        public var steps = 0
        public var rejected = 0
        public var clipped = 0
    }

    /// Sums over the current adaptive-damping window.
    struct Window: Codable, Equatable, Sendable {
        var actual = 0.0
        var predicted = 0.0
        var samples = 0
    }

    private let schedule: FactorSchedule
    private let errorSchedule: FactorSchedule
    let buffers: GradientBuffers
    private let sampled: [DoubleBuffer]
    private let preconditionedErrors: [DoubleBuffer]  // u = P̃ e, k × n_i
    private let preconditionedInputs: [DoubleBuffer]  // P x, k × columns_i
    private let inputGram: [DoubleBuffer]  // x wxᵀ, k × k
    private let errorGram: DoubleBuffer  // e uᵀ, k × k
    private let tangents: [DoubleBuffer]  // forward-mode δx_i, k × n_i
    private let trial: [DoubleBuffer]  // ping-pong activations of the trial pass
    private let trialGram: DoubleBuffer

    public var blockSize: Int { settings.blockSize }

    /// An optimizer that trains `network` (which it takes ownership of); `seed` seeds the
    /// sampled targets.
    /// - Throws: ``MathError/invalidSetting(name:value:reason:)`` for bad settings.
    public init(network: Network, settings: NaturalGradientSettings = NaturalGradientSettings(), seed: UInt64) throws {
        try settings.validate()
        self.network = network
        self.settings = settings
        let k = settings.blockSize
        let K = settings.modelSamples
        let a = network.architecture
        let shapes = network.shapes
        factors = shapes.map { InverseCovariance(dimension: $0.columns, capacity: k, health: settings.health) }
        errorFactors = shapes.map { InverseCovariance(dimension: $0.outputs, capacity: k, health: settings.health) }
        damping = settings.initialDamping
        random = RandomSource(seed: seed)
        let warm = settings.warmupSamples
        // With factors updated on one block in n, each absorbed sample weighs n times as much.
        let rate = settings.factorRate * Double(settings.factorInterval)
        schedule = FactorSchedule(rate: rate, warmup: warm)
        errorSchedule = FactorSchedule(rate: rate / Double(K), warmup: warm * K)
        buffers = GradientBuffers(architecture: a, capacity: k)
        sampled = PassBuffers.errorBuffers(architecture: a, capacity: k)
        preconditionedErrors = PassBuffers.errorBuffers(architecture: a, capacity: k)
        tangents = PassBuffers.errorBuffers(architecture: a, capacity: k)
        preconditionedInputs = [DoubleBuffer(count: 0)] + shapes.map { DoubleBuffer(count: k * $0.columns) }
        inputGram = [DoubleBuffer(count: 0)] + shapes.map { _ in DoubleBuffer(count: k * k) }
        errorGram = DoubleBuffer(count: k * k)
        let widest = buffers.pass.strides.max() ?? 1
        trial = [DoubleBuffer(count: k * widest, repeating: 1), DoubleBuffer(count: k * widest, repeating: 1)]
        trialGram = DoubleBuffer(count: k * k)
    }

    public var lastBlockOutputs: [Double] { buffers.lastOutputs }

    @discardableResult public func train(inputs: [Double], targets: [Double], count: Int) throws -> TrainReport {
        try trainArrays(inputs: inputs, targets: targets, count: count)
    }

    package func trainBlock(inputs: UnsafePointer<Double>, targets: UnsafePointer<Double>, count k: Int) -> TrainReport
    {
        let a = network.architecture
        let L = a.layerCount
        let variance = settings.outputVariance
        let pass = buffers.pass
        var report = TrainReport(outputSize: a.outputSize)
        let t = samplesSeen

        // 1. Forward, and errors from the true targets: e_L = Σ̃⁻¹(y − x_L).
        let sse = buffers.forwardBackward(
            network: network, inputs: inputs, targets: targets, count: k, scale: 1 / variance)
        report.samples = k
        report.sumSquaredError = sse
        samplesSeen += k

        // 2–3. Factors absorb the block before the step (on one block in `factorInterval`).
        // With one sample, each factor's update also yields the preconditioned vector the step
        // needs (u = P̃ e, w = P x), in the same pass over the factor.
        let sqrtDamping = damping.squareRoot()
        let interval = settings.factorInterval
        let absorbing = interval == 1 || t < settings.warmupSamples || (t / settings.blockSize) % interval == 0
        let fused = k == 1 && absorbing
        for s in network.shapes where absorbing {
            let i = s.index
            let x = pass.activations[i - 1].base
            if fused {
                factors[i - 1].absorb(
                    x, firstSample: t, schedule: schedule, sqrtDamping: sqrtDamping, thenMultiply: x,
                    into: preconditionedInputs[i].base)
            } else {
                factors[i - 1].absorb(
                    x, count: k, stride: pass.strides[i - 1], firstSample: t, schedule: schedule,
                    sqrtDamping: sqrtDamping)
            }
        }
        let sigma = variance.squareRoot()
        let K = settings.modelSamples
        for m in 0..<K where absorbing {
            // ẽ_L = Σ̃⁻¹(y_s − x_L) = ξ/σ with ξ ~ N(0, I); the linear output has φ' = 1.
            random.fillGaussian(sampled[L].base, count: k * a.outputSize, scale: 1 / sigma)
            network.backward(errors: sampled, count: k, buffers: pass)
            let first = t * K + m * k
            for s in network.shapes {
                let i = s.index
                if fused, m == K - 1 {
                    errorFactors[i - 1].absorb(
                        sampled[i].base, firstSample: first, schedule: errorSchedule, sqrtDamping: sqrtDamping,
                        thenMultiply: buffers.errors[i].base, into: preconditionedErrors[i].base)
                } else {
                    errorFactors[i - 1].absorb(
                        sampled[i].base, count: k, stride: s.outputs, firstSample: first, schedule: errorSchedule,
                        sqrtDamping: sqrtDamping)
                }
            }
        }
        if t < settings.warmupSamples { return report }

        // 4. Natural-gradient direction per layer, and lin = ⟨g, Δ⟩ for the unit step.
        let lin = preconditionAll(count: k, productsReady: fused)
        let q = modelCurvature(count: k) / variance
        guard lin > 0, lin.isFinite, q.isFinite else { return report }
        var eta = max(
            settings.learningRate / (1 + settings.learningRateDecay * Double(t)), settings.minimumLearningRate)
        if settings.clipToModelMinimum, q > 0, eta * q > lin {
            eta = lin / q
            report.clipped = 1
            counters.clipped += 1
        }
        let predicted = eta * lin - 0.5 * eta * eta * q

        // 5. Trial pass, then accept or reject.
        let lossBefore = 0.5 * sse / variance
        let actual = lossBefore - trialLoss(step: eta, targets: targets, count: k) / variance
        if settings.rejectWorseSteps, !(actual >= 0) {
            report.rejected = 1
            counters.rejected += 1
            damping = min(damping * settings.dampingIncrease, settings.maximumDamping)
        } else {
            for s in network.shapes {
                Kernels.addOuterProducts(
                    k: k, m: s.outputs, n: s.columns, alpha: eta / Double(L), u: preconditionedErrors[s.index].base,
                    ldu: s.outputs, v: preconditionedInputs[s.index].base, ldv: s.columns,
                    w: network.weights(layer: s.index), ldw: s.columns)
            }
            report.steps = 1
            counters.steps += 1
        }

        // 6. Adaptive damping over the window.
        if actual.isFinite {
            window.actual += actual
            window.predicted += predicted
            window.samples += k
        }
        if window.samples >= settings.dampingWindow {
            let rho = window.actual / window.predicted
            if rho < settings.lowRatio {
                damping = min(damping * settings.dampingIncrease, settings.maximumDamping)
            } else if rho > settings.highRatio {
                damping = max(damping * settings.dampingDecrease, settings.minimumDamping)
            }
            window = Window()
        }
        return report
    }

    /// Fills u_i = P̃_i e_i and w_i = P_i x_{i-1} for every layer, and the Gram matrices
    /// x_{i-1} w_iᵀ. Returns lin = ⟨g, Δ⟩ for the unit step Δ_i = (1/L) Σ_j u_ij w_ijᵀ, where
    /// g is the negative gradient Σ_j e_ij x_{i-1,j}ᵀ.
    /// With `productsReady`, u and w are already filled (by the factors' update).
    func preconditionAll(count k: Int, productsReady: Bool = false) -> Double {
        let pass = buffers.pass
        var lin = 0.0
        for s in network.shapes {
            let i = s.index
            let e = buffers.errors[i].base
            let u = preconditionedErrors[i].base
            let x = pass.activations[i - 1].base
            let w = preconditionedInputs[i].base
            let ldx = pass.strides[i - 1]
            if !productsReady {
                errorFactors[i - 1].multiply(e, count: k, stride: s.outputs, into: u)
                factors[i - 1].multiply(x, count: k, stride: ldx, into: w)
            }
            let gx = inputGram[i].base
            if k == 1 {
                gx[0] = Kernels.dot(n: s.columns, x, w)
                lin += Kernels.dot(n: s.outputs, e, u) * gx[0]
            } else {
                let ge = errorGram.base
                Kernels.multiplyTransposed(
                    k: k, m: k, n: s.outputs, x: e, ldx: s.outputs, w: u, ldw: s.outputs, y: ge, ldy: k)
                Kernels.multiplyTransposed(
                    k: k, m: k, n: s.columns, x: x, ldx: ldx, w: w, ldw: s.columns, y: gx, ldy: k)
                lin += Kernels.dot(n: k * k, ge, gx)
            }
        }
        return lin / Double(network.architecture.layerCount)
    }

    /// Forward-mode pass of the unit step: δa_i = Δ_i x_{i-1} + W_i δx_{i-1}, δx_i = φ'_i ∘ δa_i.
    /// Returns Σ ‖δx_L‖² over the block (q·σ²).
    func modelCurvature(count k: Int) -> Double {
        let pass = buffers.pass
        let invL = 1 / Double(network.architecture.layerCount)
        for s in network.shapes {
            let i = s.index
            let d = tangents[i].base
            // Δ_i x_{i-1,j} = (1/L) Σ_l u_il (w_il · x_{i-1,j}) = (1/L)(Gx U)_j
            Kernels.multiply(
                k: k, m: k, n: s.outputs, alpha: invL, e: inputGram[i].base, lde: k, w: preconditionedErrors[i].base,
                ldw: s.outputs, y: d, ldy: s.outputs)
            if i > 1 {
                Kernels.multiplyTransposed(
                    k: k, m: s.outputs, n: s.inputs, x: tangents[i - 1].base, ldx: s.inputs,
                    w: network.weights(layer: i), ldw: s.columns, beta: 1, y: d, ldy: s.outputs)
            }
            let phi = pass.derivatives[i].base
            for j in 0..<(k * s.outputs) { d[j] *= phi[j] }
        }
        let out = tangents[network.architecture.layerCount].base
        return Kernels.dot(n: k * network.architecture.outputSize, out, out)
    }

    /// Σ ‖y − x'_L‖² for the block under W_i + η Δ_i, computed without changing W:
    /// a'_i = W_i x'_{i-1} + (η/L) Σ_l u_il (w_il · x'_{i-1}).
    func trialLoss(step eta: Double, targets: UnsafePointer<Double>, count k: Int) -> Double {
        let pass = buffers.pass
        let L = network.architecture.layerCount
        var input = pass.activations[0].base
        var ldIn = pass.strides[0]
        for s in network.shapes {
            let i = s.index
            let out = trial[i & 1].base
            let ldOut = pass.strides[i]
            Kernels.multiplyTransposed(
                k: k, m: s.outputs, n: s.columns, x: input, ldx: ldIn, w: network.weights(layer: i), ldw: s.columns,
                y: out, ldy: ldOut)
            Kernels.multiplyTransposed(
                k: k, m: k, n: s.columns, x: input, ldx: ldIn, w: preconditionedInputs[i].base, ldw: s.columns,
                y: trialGram.base, ldy: k)
            Kernels.multiply(
                k: k, m: k, n: s.outputs, alpha: eta / Double(L), e: trialGram.base, lde: k,
                w: preconditionedErrors[i].base, ldw: s.outputs, beta: 1, y: out, ldy: ldOut)
            for r in 0..<k {
                s.activation.apply(out + r * ldOut, count: s.outputs)
                if ldOut > s.outputs { out[r * ldOut + s.outputs] = 1 }
            }
            input = out
            ldIn = ldOut
        }
        var sse = 0.0
        for j in 0..<(k * network.architecture.outputSize) {
            let d = targets[j] - input[j]
            sse += d * d
        }
        return 0.5 * sse
    }
}

extension NaturalGradientOptimizer {
    /// The natural-gradient direction for a block with the current factors, without changing
    /// anything: ΔW_i = (1/L) Σ_j (P̃_i e_ij)(P_i x_{i-1,j})ᵀ, each as a row-major
    /// `n_i × columns_i` array. With exact population factors this is paper Eq. 10.
    /// - Throws: ``MathError`` for a wrong size or non-finite value.
    public func directions(inputs: [Double], targets: [Double], count k: Int) throws -> [[Double]] {
        let a = network.architecture
        guard k >= 1, k <= blockSize else {
            throw MathError.dimensionMismatch(what: "direction block", expected: blockSize, got: k)
        }
        try inputs.withUnsafeBufferPointer { try Network.validate($0, count: k, width: a.inputSize, what: "inputs") }
        try targets.withUnsafeBufferPointer { try Network.validate($0, count: k, width: a.outputSize, what: "targets") }
        inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                _ = buffers.forwardBackward(
                    network: network, inputs: x.baseAddress!, targets: y.baseAddress!, count: k,
                    scale: 1 / settings.outputVariance)
            }
        }
        _ = preconditionAll(count: k)
        return network.shapes.map { s in
            let out = DoubleBuffer(count: s.outputs * s.columns)
            Kernels.addOuterProducts(
                k: k, m: s.outputs, n: s.columns, alpha: 1 / Double(a.layerCount),
                u: preconditionedErrors[s.index].base, ldu: s.outputs, v: preconditionedInputs[s.index].base,
                ldv: s.columns, w: out.base, ldw: s.columns)
            return out.array
        }
    }

    /// A snapshot of weights, factors, damping, window, counters and random state.
    public var state: OptimizerState {
        .naturalGradient(
            NaturalGradientState(
                settings: settings, network: network.state, factors: factors.map(\.state),
                errorFactors: errorFactors.map(\.state), damping: damping, random: random, samplesSeen: samplesSeen,
                counters: counters, windowActual: window.actual, windowPredicted: window.predicted,
                windowSamples: window.samples))
    }

    /// Restores an optimizer from a snapshot, ready to continue bit-for-bit.
    /// - Throws: ``MathError/invalidState(_:)`` when the snapshot is inconsistent.
    public convenience init(state s: NaturalGradientState) throws {
        try self.init(network: Network(state: s.network), settings: s.settings, seed: 0)
        guard s.samplesSeen >= 0, s.windowSamples >= 0, s.windowActual.isFinite, s.windowPredicted.isFinite else {
            throw MathError.invalidState("natural-gradient counters out of range")
        }
        guard s.factors.count == factors.count, s.errorFactors.count == errorFactors.count else {
            throw MathError.invalidState("the snapshot has factors for a different number of layers")
        }
        for (f, fs) in zip(factors, s.factors) { try f.restore(fs) }
        for (f, fs) in zip(errorFactors, s.errorFactors) { try f.restore(fs) }
        guard s.damping >= s.settings.minimumDamping, s.damping <= s.settings.maximumDamping else {
            throw MathError.invalidState("damping \(s.damping) is outside its configured range")
        }
        damping = s.damping
        random = try RandomSource(state: s.random.state)
        samplesSeen = s.samplesSeen
        counters = s.counters
        window = Window(actual: s.windowActual, predicted: s.windowPredicted, samples: s.windowSamples)
    }
}

/// A serialisable snapshot of a ``NaturalGradientOptimizer``.
public struct NaturalGradientState: Codable, Equatable, Sendable {
    public var settings: NaturalGradientSettings
    public var network: NetworkState
    public var factors: [InverseCovarianceState]
    public var errorFactors: [InverseCovarianceState]
    public var damping: Double
    public var random: RandomSource
    public var samplesSeen: Int
    public var counters: NaturalGradientOptimizer.Counters
    public var windowActual: Double
    public var windowPredicted: Double
    public var windowSamples: Int
}
