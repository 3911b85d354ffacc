/// Online natural-gradient descent (Bernacchia, Lengyel & Hennequin, NeurIPS 2018, Eq. 10/20/21)
/// with Sherman–Morrison inverse Fisher factors, as set out in docs/algorithm.md.
///
/// For each block of k samples (k = 1 by default):
/// 1. the inputs join the network's running standardization; forward pass; errors e_i
///    back-propagated from the true y (they feed only the gradient);
/// 2. errors ẽ_i of targets from the model back-propagated, for the hidden layers' error factors
///    Λ̃_i: a sampled y_s ~ N(x_L, σ²I) (Gaussian), or every class weighted by its probability
///    (categorical, ≤ 16 classes; else a drawn class) together with the observed error at half
///    weight; the output layer's factor is exact: Σ̃⁻¹ for a Gaussian, the running average of
///    ½(diag(p) − ppᵀ) + ½ e eᵀ for classes;
/// 3. each layer's factors absorb the block (before the step, as in recursive least squares) as
///    bias-corrected running averages from a prior of t₀ pseudo-samples: Λ_i from x_{i-1} and
///    Λ̃_i from ẽ_i, with relative damping by cyclic identity injection;
/// 4. the step ΔW_i = (η_t/L) Σ_j (P̃_i e_ij)(P_i x_{i-1,j})ᵀ with η_t = η·max(1/(t+1+t₀), φ_t),
///    clipped to the minimiser lin/q of the block's Gauss–Newton model (q by one forward-mode
///    pass);
/// 5. a trial forward pass gives the actual decrease; a step that raised the block's loss, or
///    that would make a weight non-finite, is rejected (never applied) and λ grows by 3/2;
/// 6. every `dampingWindow` samples, ρ = Σ actual / Σ predicted sets λ (paper Eq. 21); every
///    `floorWindow` samples, the mean of ⟨g_next, Δ⟩/⟨g, Δ⟩ (does a step also help the next
///    block?) moves the floor φ_t.
///
/// Per sample this costs a few matrix-vector products per layer, and nothing is allocated.
///
/// Thread safety: none. Use an optimizer from one thread at a time.
public final class NaturalGradientOptimizer: BlockOptimizer {
    public let network: Network
    public let settings: NaturalGradientSettings
    /// Λ_i⁻¹ estimators, one per layer (dimension n_{i-1} + bias).
    public let factors: [InverseCovariance]
    /// Λ̃_i⁻¹ estimators, one per layer (dimension n_i); the output layer's is unused (exact).
    public let errorFactors: [InverseCovariance]
    /// λ, the current relative damping.
    public private(set) var damping: Double
    /// φ_t, the current floor of the step and factor rates.
    public private(set) var floor: Double
    /// The generator of the sampled targets.
    public private(set) var random: RandomSource
    public private(set) var samplesSeen = 0
    /// Steps applied, steps rejected, and steps clipped, since the start.
    public private(set) var counters = Counters()
    /// The running sums of the current damping window.
    private(set) var window = Window()
    /// The running sum of the current floor window.
    private(set) var agreement = Agreement()

    /// Step counters.
    public struct Counters: Codable, Equatable, Sendable {
        public var steps = 0
        public var rejected = 0
        public var clipped = 0
        /// Steps not applied because a weight would have become NaN or infinite.
        public var nonFinite: Int? = 0
    }

    /// Sums over the current adaptive-damping window.
    struct Window: Codable, Equatable, Sendable {
        var actual = 0.0
        var predicted = 0.0
        var samples = 0
    }

    /// Sums over the current floor window, and the size of the last applied step (its k
    /// samples and lin = ⟨g, Δ⟩), whose u = P̃e and w = Px are kept in `lastErrors` and
    /// `lastInputs` for the next block's comparison.
    public struct Agreement: Codable, Equatable, Sendable {
        var sum = 0.0
        var squares = 0.0
        var ratios = 0
        var samples = 0
        var lastCount = 0
        var lastLin = 0.0
    }

    let buffers: GradientBuffers
    private let sampled: [DoubleBuffer]
    private let preconditionedErrors: [DoubleBuffer]  // u = P̃ e, k × n_i
    private let preconditionedInputs: [DoubleBuffer]  // P x, k × columns_i
    private let inputGram: [DoubleBuffer]  // x wxᵀ, k × k
    private let errorGram: DoubleBuffer  // e uᵀ, k × k
    private let tangents: [DoubleBuffer]  // forward-mode δx_i, k × n_i
    private let trial: [DoubleBuffer]  // ping-pong activations of the trial pass
    private let trialGram: DoubleBuffer
    /// Categorical output: the running average F̄ of diag(p) − ppᵀ (K × K, upper triangle) and
    /// the inverse of its damped form.
    private let outputFisher: DoubleBuffer
    private let outputInverse: DoubleBuffer
    private(set) var outputFisherCount = 0
    /// The last applied step's u and w per layer (k × n_i and k × columns_i).
    private let lastErrors: [DoubleBuffer]
    private let lastInputs: [DoubleBuffer]

    /// The highest rate the floor gives the factors: a memory of at least twice the widest
    /// factor, so that no factor forgets faster than it can stay positive definite.
    let maximumFactorFloor: Double
    /// k × k products of the current block with the last step's vectors, for the agreement.
    private let agreementErrors: DoubleBuffer
    private let agreementInputs: DoubleBuffer

    public var blockSize: Int { settings.blockSize }
    public var rejectedSteps: Int { counters.rejected }
    /// Times any factor's inverse was recomputed from its covariance (``InverseCovariance/refreshCount``).
    public var factorRefreshes: Int { (factors + errorFactors).reduce(0) { $0 + $1.refreshCount } }
    /// Times any factor was reset to a scaled identity (``InverseCovariance/resetCount``).
    public var factorResets: Int { (factors + errorFactors).reduce(0) { $0 + $1.resetCount } }

    /// The smallest Sherman–Morrison/Woodbury pivot ratio of any factor since the previous
    /// call (≥ 1 in exact arithmetic; near or below 1, a factor is losing positive
    /// definiteness), or nil when no factor was updated since.
    public func takeMinPivotRatio() -> Double? {
        (factors + errorFactors).compactMap { $0.takeObservedMinPivotRatio() }.min()
    }
    public var nonFiniteSteps: Int { counters.nonFinite ?? 0 }

    /// An optimizer that trains `network` (which it takes ownership of); `seed` seeds the
    /// sampled targets.
    /// - Throws: ``MathError/invalidSetting(_:value:reason:)`` for bad settings.
    public init(network: Network, settings: NaturalGradientSettings = NaturalGradientSettings(), seed: UInt64) throws {
        try settings.validate()
        self.network = network
        self.settings = settings
        let k = settings.blockSize
        let a = network.architecture
        let shapes = network.shapes
        factors = shapes.map { InverseCovariance(dimension: $0.columns, capacity: k, health: settings.health) }
        // The input factors start from the identity: the first layer's inputs are standardized
        // (or are what they are), the others are bounded activations.
        for f in factors { f.initialScale = 1 }
        errorFactors = shapes.map { InverseCovariance(dimension: $0.outputs, capacity: k, health: settings.health) }
        damping = settings.initialDamping
        floor = settings.initialFloor
        random = RandomSource(seed: seed)
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
        let K = a.likelihood == .categorical ? a.outputSize : 0
        outputFisher = DoubleBuffer(count: K * K)
        outputInverse = DoubleBuffer(count: K * K)
        maximumFactorFloor = 1 / (2 * Double(shapes.map { max($0.columns, $0.outputs) }.max() ?? 1))
        agreementErrors = DoubleBuffer(count: k * k)
        agreementInputs = DoubleBuffer(count: k * k)
        lastErrors = shapes.map { DoubleBuffer(count: k * $0.outputs) }
        lastInputs = shapes.map { DoubleBuffer(count: k * $0.columns) }
    }

    public var lastBlockOutputs: [Double] { buffers.lastOutputs }

    @discardableResult public func train(inputs: [Double], targets: [Double], count: Int) throws -> TrainReport {
        try trainArrays(inputs: inputs, targets: targets, count: count)
    }

    /// The schedule of a factor of dimension `n`: bias-corrected averages from a prior of
    /// `prior` pseudo-samples, with a rate of at least the floor (and at least the rate whose
    /// memory is `memoryWidths`·n samples), `perSample` vectors per sample.
    private func schedule(dimension n: Int, perSample: Int) -> FactorSchedule {
        let interval = Double(settings.factorInterval)
        let memory = 1 / (settings.memoryWidths * Double(n))
        return FactorSchedule(
            rate: min(max(min(floor, maximumFactorFloor), memory) * interval / Double(perSample), 1), warmup: .max,
            prior: settings.priorSamples * Double(perSample))
    }

    package func trainBlock(inputs: UnsafePointer<Double>, targets: UnsafePointer<Double>, count k: Int) -> TrainReport
    {
        let a = network.architecture
        let L = a.layerCount
        let nL = a.outputSize
        let categorical = a.likelihood == .categorical
        let variance = settings.outputVariance
        let pass = buffers.pass
        let t = samplesSeen

        // 1. Standardize, forward, and errors from the true targets: e_L = −∂loss/∂x_L.
        let score = buffers.forwardBackward(
            network: network, inputs: inputs, targets: targets, count: k, scale: 1 / variance)
        var report = TrainReport(outputSize: nL, samples: k, score: score)
        // A block that cannot be learned without a NaN or infinity (in the input statistics,
        // an activation, an error or a factor) is refused whole, and λ rises.
        if score.refused {
            report.rejected = 1
            counters.rejected += 1
            counters.nonFinite = (counters.nonFinite ?? 0) + 1
            damping = min(damping * settings.dampingIncrease, settings.maximumDamping)
            return report
        }
        samplesSeen += k
        noteAgreement(count: k)

        // 2–3. Factors absorb the block before the step (on one block in `factorInterval`).
        // With one sample, each factor's update also yields the preconditioned vector the step
        // needs (u = P̃ e, w = P x), in the same pass over the factor.
        let sqrtDamping = damping.squareRoot()
        let interval = settings.factorInterval
        let absorbing = interval == 1 || t < settings.warmup || (t / settings.blockSize) % interval == 0
        let fused = k == 1 && absorbing
        for s in network.shapes where absorbing {
            let i = s.index
            let x = pass.activations[i - 1].base
            let f = factors[i - 1]
            let sched = schedule(dimension: s.columns, perSample: 1)
            if fused {
                f.absorb(
                    x, firstSample: f.updateCount, schedule: sched, sqrtDamping: sqrtDamping, thenMultiply: x,
                    into: preconditionedInputs[i].base)
            } else {
                f.absorb(
                    x, count: k, stride: pass.strides[i - 1], firstSample: f.updateCount, schedule: sched,
                    sqrtDamping: sqrtDamping)
            }
        }
        if absorbing, categorical { absorbOutputFisher(count: k) }
        // The hidden layers' error factors absorb M vectors per sample from the model: Gaussian,
        // ẽ_L = ξ/σ; categorical, one per class c, √p_c(onehot(c) − p) (the exact expectation
        // over the model's labels) for up to 16 classes, else onehot(y_s) − p for drawn labels.
        // A categorical model's factors also absorb the observed error e_L = y − p with half
        // the weight (see docs/algorithm.md): for a calibrated model both halves estimate
        // diag(p) − ppᵀ; for an overconfident one the model's half vanishes, and the observed
        // half keeps the factor from collapsing.
        let exact = categorical && nL <= Self.exactClassLimit
        let M = exact ? nL : settings.modelSamples
        let K = categorical ? M + 1 : M
        let modelWeight = categorical ? (Double(K) / (2 * Double(exact ? 1 : M))).squareRoot() : 1
        for m in 0..<K where absorbing && L > 1 {
            if m == M {
                // The observed errors, already back-propagated.
                let w = (Double(K) / 2).squareRoot()
                for s in network.shapes where s.index < L {
                    let e = buffers.errors[s.index].base
                    let v = sampled[s.index].base
                    for j in 0..<(k * s.outputs) { v[j] = w * e[j] }
                }
            } else {
                if exact {
                    classErrors(m, count: k, scale: modelWeight, into: sampled[L].base)
                } else {
                    sampleOutputErrors(
                        count: k, into: sampled[L].base, scale: categorical ? modelWeight : 1 / variance.squareRoot())
                }
                network.backward(errors: sampled, count: k, buffers: pass)
            }
            for s in network.shapes where s.index < L {
                let i = s.index
                let f = errorFactors[i - 1]
                let sched = schedule(dimension: s.outputs, perSample: K)
                if fused, m == K - 1 {
                    f.absorb(
                        sampled[i].base, firstSample: f.updateCount, schedule: sched, sqrtDamping: sqrtDamping,
                        thenMultiply: buffers.errors[i].base, into: preconditionedErrors[i].base)
                } else {
                    f.absorb(
                        sampled[i].base, count: k, stride: s.outputs, firstSample: f.updateCount, schedule: sched,
                        sqrtDamping: sqrtDamping)
                }
            }
        }
        if t < settings.warmup { return report }

        // 4. Natural-gradient direction per layer, and lin = ⟨g, Δ⟩ for the unit step.
        let lin = preconditionAll(count: k, productsReady: fused)
        let q = modelCurvature(count: k)
        guard lin > 0, lin.isFinite, q.isFinite else { return report }
        let base = 1 / (Double(t + k) + settings.priorSamples)
        var eta = settings.learningRate * max(base, floor)
        if settings.clipToModelMinimum, q > 0, eta * q > lin {
            eta = lin / q
            report.clipped = 1
            counters.clipped += 1
        }
        let predicted = eta * lin - 0.5 * eta * eta * q

        // 5. Trial pass, then accept or reject.
        let lossBefore = categorical ? score.lossBeforeStep : score.lossBeforeStep / variance
        let actual = lossBefore - trialLoss(step: eta, targets: targets, count: k)
        let finite = stepKeepsWeightsFinite(eta: eta, count: k)
        if !finite || (settings.rejectWorseSteps && !(actual >= 0)) {
            report.rejected = 1
            counters.rejected += 1
            if !finite { counters.nonFinite = (counters.nonFinite ?? 0) + 1 }
            damping = min(damping * settings.dampingIncrease, settings.maximumDamping)
            agreement.lastCount = 0
        } else {
            for s in network.shapes {
                Kernels.addOuterProducts(
                    k: k, m: s.outputs, n: s.columns, alpha: eta / Double(L), u: preconditionedErrors[s.index].base,
                    ldu: s.outputs, v: preconditionedInputs[s.index].base, ldv: s.columns,
                    w: network.weights(layer: s.index), ldw: s.columns)
            }
            report.steps = 1
            counters.steps += 1
            rememberStep(count: k, lin: lin)
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

    /// Whether the step (η/L)·Σ u wᵀ is finite and bounded (each entry below 10¹⁰⁰) in every
    /// layer: a step that could make a weight NaN or infinite is never applied.
    private func stepKeepsWeightsFinite(eta: Double, count k: Int) -> Bool {
        let alpha = eta / Double(network.architecture.layerCount)
        return network.shapes.allSatisfy { s in
            GradientBuffers.outerProductBound(
                k: k, alpha: alpha, u: preconditionedErrors[s.index].base, m: s.outputs, ldu: s.outputs,
                v: preconditionedInputs[s.index].base, n: s.columns, ldv: s.columns) < GradientBuffers.largestStep
        }
    }

    /// The most classes for which the hidden layers' error factors take the exact expectation
    /// over the model's labels (one backward pass per class) instead of sampled labels.
    static let exactClassLimit = 16

    /// ẽ_L = scale·√p_c (onehot(c) − p) for each of the block's rows.
    private func classErrors(_ c: Int, count k: Int, scale: Double, into e: UnsafeMutablePointer<Double>) {
        let nL = network.architecture.outputSize
        let p = buffers.predictions.base
        for r in 0..<k {
            let row = p + r * nL
            let w = scale * row[c].squareRoot()
            for j in 0..<nL { e[r * nL + j] = w * ((j == c ? 1 : 0) - row[j]) }
        }
    }

    /// ẽ_L for the error factors: ξ·`scale` with ξ ~ N(0, I) (Gaussian), or onehot(y_s) − p with
    /// y_s drawn from p = softmax(x_L) (categorical).
    private func sampleOutputErrors(count k: Int, into e: UnsafeMutablePointer<Double>, scale: Double) {
        let nL = network.architecture.outputSize
        guard network.architecture.likelihood == .categorical else {
            random.fillGaussian(e, count: k * nL, scale: scale)
            return
        }
        let p = buffers.predictions.base
        for r in 0..<k {
            let row = p + r * nL
            var u = random.nextOpenUnit()
            var drawn = nL - 1
            for j in 0..<nL {
                u -= row[j]
                if u <= 0 {
                    drawn = j
                    break
                }
            }
            for j in 0..<nL { e[r * nL + j] = scale * ((j == drawn ? 1 : 0) - row[j]) }
        }
    }

    /// Folds the block's output Fisher into F̄ (bias-corrected running average from a prior of
    /// t₀ pseudo-samples of I/K), and inverts its damped form. Per sample it absorbs
    /// ½(diag(p) − ppᵀ) + ½ e eᵀ, the model's expectation and the observed error e = y − p: the
    /// two agree in expectation when the model is calibrated, and the second keeps F̄ from
    /// collapsing when it is overconfident.
    private func absorbOutputFisher(count k: Int) {
        let K = network.architecture.outputSize
        let f = outputFisher.base
        let p = buffers.predictions.base
        let e = buffers.errors[network.architecture.layerCount].base
        if outputFisherCount == 0 {
            outputFisher.fill(0)
            for j in 0..<K { f[j * K + j] = 1 / Double(K) }
        }
        let sched = schedule(dimension: K, perSample: 1)
        for r in 0..<k {
            let eps = sched.rate(at: outputFisherCount)
            outputFisherCount += 1
            let row = p + r * K
            let error = e + r * K
            for i in 0..<K {
                for j in i..<K {
                    let v = 0.5 * ((i == j ? row[i] : 0) - row[i] * row[j] + error[i] * error[j])
                    f[i * K + j] = (1 - eps) * f[i * K + j] + eps * v
                }
            }
        }
        refreshOutputInverse()
    }

    /// Inverts the damped F̄ into `outputInverse`.
    private func refreshOutputInverse() {
        let K = network.architecture.outputSize
        let f = outputFisher.base
        var trace = 0.0
        for j in 0..<K { trace += f[j * K + j] }
        let d = damping.squareRoot() * trace / Double(K) + 1e-12 * trace
        let inv = outputInverse.base
        inv.update(from: f, count: K * K)
        for j in 0..<K { inv[j * K + j] += d }
        if !Kernels.invertPositiveDefinite(n: K, inv) {
            // Not positive definite (round-off): fall back to the damped diagonal.
            outputInverse.fill(0)
            for j in 0..<K { inv[j * K + j] = 1 / max(f[j * K + j] + d, 1e-12) }
        }
    }

    /// Adds the comparison of the last step with this block's gradient to the floor window:
    /// ⟨g, Δ_last⟩/⟨g_last, Δ_last⟩ > 0 when the step also lowered this block's loss (to first order).
    private func noteAgreement(count k: Int) {
        guard settings.adaptiveFloor, agreement.lastCount > 0, agreement.lastLin > 0 else { return }
        let pass = buffers.pass
        let kp = agreement.lastCount
        var dot = 0.0
        for s in network.shapes {
            let i = s.index
            let e = buffers.errors[i].base
            let x = pass.activations[i - 1].base
            let ldx = pass.strides[i - 1]
            let u = lastErrors[i - 1].base
            let w = lastInputs[i - 1].base
            // Σ_r Σ_l (e_r·u_l)(x_r·w_l) over the block's rows r and the last step's rows l.
            let eu = agreementErrors.base
            let xw = agreementInputs.base
            Kernels.multiplyTransposed(
                k: k, m: kp, n: s.outputs, x: e, ldx: s.outputs, w: u, ldw: s.outputs, y: eu, ldy: kp)
            Kernels.multiplyTransposed(k: k, m: kp, n: s.columns, x: x, ldx: ldx, w: w, ldw: s.columns, y: xw, ldy: kp)
            dot += Kernels.dot(n: k * kp, eu, xw)
        }
        let ratio = dot / Double(network.architecture.layerCount) / agreement.lastLin
        guard ratio.isFinite else { return }
        agreement.sum += ratio
        agreement.squares += ratio * ratio
        agreement.ratios += 1
        agreement.samples += k
        guard agreement.samples >= settings.floorWindow else { return }
        // A one-sided test of the window's mean ratio: clearly positive (z > 2) means the steps
        // keep pointing the same way, so they are too short (φ ×3/2); not positive (z ≤ 0) means
        // they are not (φ ×2/3); in between, φ stays.
        let n = Double(agreement.ratios)
        let mean = agreement.sum / n
        let variance = max(agreement.squares / n - mean * mean, 0)
        let z = mean / (variance / n).squareRoot()
        if z > 2 {
            floor = min(floor * 1.5, 1)
        } else if !(z > 0) {
            floor = max(floor / 1.5, settings.minimumFloor)
        }
        agreement = Agreement(lastCount: agreement.lastCount, lastLin: agreement.lastLin)
    }

    /// Keeps the applied step's u and w for the next block's agreement.
    private func rememberStep(count k: Int, lin: Double) {
        guard settings.adaptiveFloor else { return }
        agreement.lastCount = k
        agreement.lastLin = lin
        for s in network.shapes {
            lastErrors[s.index - 1].base.update(from: preconditionedErrors[s.index].base, count: k * s.outputs)
            lastInputs[s.index - 1].base.update(from: preconditionedInputs[s.index].base, count: k * s.columns)
        }
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
            if i == network.architecture.layerCount {
                multiplyByOutputInverse(e, count: k, into: u)
            } else if !productsReady {
                errorFactors[i - 1].multiply(e, count: k, stride: s.outputs, into: u)
            }
            if !productsReady { factors[i - 1].multiply(x, count: k, stride: ldx, into: w) }
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

    /// u = P̃_L e for the output layer, whose error factor is exact: σ²·I (Gaussian: Λ̃_L = Σ̃⁻¹)
    /// or the inverse of the damped running average of diag(p) − ppᵀ (categorical), both damped
    /// relatively like the other factors.
    private func multiplyByOutputInverse(_ e: UnsafePointer<Double>, count k: Int, into u: UnsafeMutablePointer<Double>)
    {
        let K = network.architecture.outputSize
        if network.architecture.likelihood == .categorical {
            Kernels.symmetricMultiply(k: k, n: K, alpha: 1, p: outputInverse.base, v: e, ldv: K, u: u, ldu: K)
            if outputFisherCount == 0 { for j in 0..<(k * K) { u[j] = e[j] * Double(K) } }
        } else {
            let c = settings.outputVariance / (1 + damping.squareRoot())
            for j in 0..<(k * K) { u[j] = c * e[j] }
        }
    }

    /// Forward-mode pass of the unit step: δa_i = Δ_i x_{i-1} + W_i δx_{i-1}, δx_i = φ'_i ∘ δa_i.
    /// Returns q, the curvature of the block's loss along the step: Σ ‖δx_L‖²/σ² (Gaussian) or
    /// Σ δx_Lᵀ(diag(p) − ppᵀ)δx_L (categorical).
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
        let nL = network.architecture.outputSize
        guard network.architecture.likelihood == .categorical else {
            return Kernels.dot(n: k * nL, out, out) / settings.outputVariance
        }
        let p = buffers.predictions.base
        var q = 0.0
        for r in 0..<k {
            var mean = 0.0
            var square = 0.0
            for j in 0..<nL {
                let d = out[r * nL + j]
                mean += p[r * nL + j] * d
                square += p[r * nL + j] * d * d
            }
            q += square - mean * mean
        }
        return q
    }

    /// The block's loss under W_i + η Δ_i (Σ ½‖y − x'_L‖²/σ², or the cross-entropy), computed
    /// without changing W: a'_i = W_i x'_{i-1} + (η/L) Σ_l u_il (w_il · x'_{i-1}).
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
        let a = network.architecture
        let nL = a.outputSize
        var loss = 0.0
        for r in 0..<k {
            loss += Likelihood.loss(a.likelihood, outputs: input + r * ldIn, targets: targets + r * nL, width: nL)
        }
        return a.likelihood == .categorical ? loss : loss / settings.outputVariance
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
                    scale: 1 / settings.outputVariance, observe: false)
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
                windowSamples: window.samples, floor: floor, agreement: agreement,
                lastErrors: lastErrors.map(\.array), lastInputs: lastInputs.map(\.array),
                outputFisher: outputFisher.array, outputFisherCount: outputFisherCount))
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
        if let f = s.floor {
            guard f >= s.settings.minimumFloor, f <= 1 else {
                throw MathError.invalidState("floor \(f) is out of range")
            }
            floor = f
        }
        if var a = s.agreement {
            guard a.samples >= 0, a.ratios >= 0, a.lastCount >= 0, a.sum.isFinite, a.squares.isFinite,
                a.lastLin.isFinite
            else {
                throw MathError.invalidState("the floor's window is out of range")
            }
            // The last step's vectors are kept for the next block's comparison; saved with
            // another block size they do not fit, and that one comparison is skipped.
            let fits = { (saved: [[Double]]?, buffers: [DoubleBuffer]) in
                saved.map { $0.count == buffers.count && zip($0, buffers).allSatisfy { $0.count == $1.count } } ?? false
            }
            if a.lastCount > 0, a.lastCount <= blockSize, fits(s.lastErrors, lastErrors),
                fits(s.lastInputs, lastInputs),
                let errors = s.lastErrors, let inputs = s.lastInputs,
                (errors + inputs).allSatisfy({ $0.allSatisfy(\.isFinite) })
            {
                for (v, b) in zip(errors, lastErrors) { b.assign(v) }
                for (v, b) in zip(inputs, lastInputs) { b.assign(v) }
            } else {
                a.lastCount = 0
            }
            agreement = a
        }
        if let f = s.outputFisher, let n = s.outputFisherCount {
            guard f.count == outputFisher.count, n >= 0, f.allSatisfy(\.isFinite) else {
                throw MathError.invalidState("the output Fisher does not fit the network")
            }
            outputFisher.assign(f)
            outputFisherCount = n
            if n > 0 { refreshOutputInverse() }
        }
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
    /// The adaptive floor and its window (nil in states saved before they existed).
    public var floor: Double?
    public var agreement: NaturalGradientOptimizer.Agreement?
    public var lastErrors: [[Double]]?
    public var lastInputs: [[Double]]?
    /// The categorical output's running Fisher average (K × K) and its sample count.
    public var outputFisher: [Double]?
    public var outputFisherCount: Int?
}
