/// How fast a factor forgets: ε_t = 1/(t + 1 + prior) during warm-up, which makes the factor the
/// exact running mean of its prior (`prior` pseudo-samples of the initial scale) and its samples,
/// then a constant ε (an exponential moving average with a memory of about 1/ε samples). The
/// rate is never below ε.
public struct FactorSchedule: Codable, Equatable, Sendable {
    /// ε, the lowest rate.
    public var rate: Double
    /// The number of samples that use ε_t = 1/(t + 1 + prior) (clamped below by ε).
    public var warmup: Int
    /// Pseudo-samples of the initial value.
    public var prior: Double

    public init(rate: Double, warmup: Int, prior: Double = 1) {
        self.rate = rate
        self.warmup = warmup
        self.prior = prior
    }

    /// ε for the sample with 0-based index `t`.
    @inline(__always) public func rate(at t: Int) -> Double {
        t < warmup ? max(1 / (Double(t) + 1 + prior), rate) : rate
    }
}

/// Settings of the numerical health check of an ``InverseCovariance``.
public struct HealthSettings: Codable, Equatable, Sendable {
    /// Run the health check every this many updates; 0 turns it off.
    public var interval: Int
    /// The largest acceptable drift ‖PC − I‖_F/√n before P is re-inverted from C.
    public var driftTolerance: Double
    /// Also re-invert P from C every this many updates; 0 re-inverts only when health fails.
    public var refreshInterval: Int

    public init(interval: Int = 1000, driftTolerance: Double = 1e-6, refreshInterval: Int = 0) {
        self.interval = interval
        self.driftTolerance = driftTolerance
        self.refreshInterval = refreshInterval
    }

    /// Checks the ranges.
    /// - Throws: ``MathError/invalidSetting(_:value:reason:)``.
    public func validate() throws(MathError) {
        try require(interval >= 0, .healthInterval, interval, "must be ≥ 0")
        try require(
            driftTolerance > 0 && driftTolerance.isFinite, .driftTolerance, driftTolerance, "must be a positive number")
        try require(refreshInterval >= 0, .refreshInterval, refreshInterval, "must be ≥ 0")
    }
}

/// The inverse P = C⁻¹ of a damped exponential-moving-average covariance C of a stream of
/// vectors, kept up to date by Sherman–Morrison (one vector) or Woodbury (a block) updates.
///
/// Each vector v with rate ε does C ← (1−ε)C + ε v vᵀ, then injects damping as one more rank-1
/// term ε·d·n·e_c e_cᵀ, with the coordinate c cycling through 0…n−1 (*cyclic identity
/// injection*). In steady state C ≈ ⟨v vᵀ⟩ + d·I. The damping is relative: d = √λ·T/n, where T
/// is the moving average of ‖v‖² (the trace of the undamped covariance) and λ the optimizer's
/// damping, which its caller keeps at or above a floor.
///
/// Storage: P and C are each one `n × n` row-major buffer of which only the upper triangle is
/// used (BLAS `symv`/`syr`/`syrk`), so both stay exactly symmetric. The decay (1−ε) is carried
/// as a separate scalar on each, so a rank-1 update costs one `symv` and one `syr`, with no
/// O(n²) rescale; the scalars are folded back into the matrices by exact powers of two.
///
/// C is tracked beside P so that P can be re-inverted from it (Cholesky) when the health check
/// fails or every `refreshInterval` updates.
///
/// Thread safety: none; one optimizer owns it.
public final class InverseCovariance {
    /// n, the size of the vectors.
    public let dimension: Int
    /// The most vectors one ``absorb(_:count:stride:firstSample:schedule:sqrtDamping:)`` call takes.
    public let capacity: Int
    /// When to check health and refresh.
    public let health: HealthSettings
    /// The scale γ of the initial C = γI; nil takes the mean square of the first block.
    public var initialScale: Double?

    /// P / pScale (upper triangle).
    let p: DoubleBuffer
    /// C / cScale (upper triangle).
    let c: DoubleBuffer
    var pScale = 1.0
    var cScale = 1.0
    /// The scalar bookkeeping of the stream, written on every update.
    struct Bookkeeping {
        var trace = 0.0
        var cursor = 0
        var isInitialized = false
        var updateCount = 0
        var refreshCount = 0
        var resetCount = 0
    }
    /// Internal storage behind the public read-only properties below. A public stored property
    /// of a class can be read from other modules, so every write to it is checked for exclusive
    /// access at run time (`swift_beginAccess`: 6% of the daemon's profile on A); internal
    /// storage lets whole-module optimisation prove the accesses safe at compile time.
    var book = Bookkeeping()
    /// The moving average of ‖v‖², the trace of the undamped covariance.
    public var trace: Double { book.trace }
    /// The next coordinate that receives identity injection.
    public var cursor: Int { book.cursor }
    /// Whether the first vector has set the initial scale.
    public var isInitialized: Bool { book.isInitialized }
    /// Vectors absorbed so far.
    public var updateCount: Int { book.updateCount }
    /// Times P was re-inverted from C.
    public var refreshCount: Int { book.refreshCount }
    /// Times P and C were reset to a scaled identity because C was not positive definite.
    public var resetCount: Int { book.resetCount }
    var sinceRefresh = 0
    /// The most recent health report.
    public internal(set) var lastHealth: HealthReport?
    /// The smallest Sherman–Morrison / Woodbury pivot ratio (S/a, ≥ 1 in exact arithmetic) since
    /// the last health check.
    var minPivotRatio = Double.infinity
    /// The smallest pivot ratio since the last ``takeObservedMinPivotRatio()`` (for monitoring;
    /// health checks and refreshes do not reset it).
    var observedMinPivotRatio = Double.infinity

    // Scratch, sized once.
    private let rows: DoubleBuffer  // capacity × n: the scaled vectors √w_j·v_j
    private let products: DoubleBuffer  // (2·capacity) × n: rows · P
    private let gram: DoubleBuffer  // (2·capacity)²
    private let weights: DoubleBuffer  // 3·capacity: sample and injection weights, then √ of the latter
    let probe: DoubleBuffer  // 2n

    /// An estimator for vectors of size `dimension`, taking up to `capacity` vectors per update.
    public init(dimension: Int, capacity: Int = 1, health: HealthSettings = HealthSettings()) {
        precondition(dimension >= 1 && capacity >= 1, "InverseCovariance needs dimension ≥ 1 and capacity ≥ 1")
        Kernels.configureSingleThreaded()
        self.dimension = dimension
        self.capacity = capacity
        self.health = health
        p = DoubleBuffer(count: dimension * dimension)
        c = DoubleBuffer(count: dimension * dimension)
        let r = capacity == 1 ? 0 : 2 * capacity
        rows = DoubleBuffer(count: (capacity == 1 ? 0 : capacity) * dimension)
        products = DoubleBuffer(count: max(r, 1) * dimension)
        gram = DoubleBuffer(count: r * r)
        weights = DoubleBuffer(count: 3 * capacity)
        probe = DoubleBuffer(count: 2 * dimension)
        resetToIdentity(scale: 1)
        book.isInitialized = false
    }

    /// The largest n at which a block is absorbed one vector at a time (fused Sherman–Morrison)
    /// rather than by one Woodbury update: below it the fused passes are the cheaper form
    /// (docs/performance.md, "Design measurements").
    public static let sequentialDimension = 32

    /// The damping d = √λ·T/n that the next injection adds for a given √λ.
    public func damping(sqrtDamping: Double) -> Double { sqrtDamping * book.trace / Double(dimension) }

    /// Folds `count` vectors (row-major, row stride `stride`) into C and P, the vector in row j
    /// being sample number `firstSample + j` of the stream (which sets its rate from `schedule`).
    /// Each vector is followed by its identity injection with damping √λ·T/n.
    ///
    /// One vector is a Sherman–Morrison update (`symv` + `syr`, then the injection's `syr`; for
    /// n ≤ ``Kernels/smallDimension`` one fused Swift pass). More are one Woodbury update of rank
    /// 2·count (`symm`, LAPACK's Cholesky of the 2k × 2k system, `trsm`, `syrk`), or, for
    /// n ≤ ``sequentialDimension``, that many fused Sherman–Morrison passes. Every form is equal
    /// in exact arithmetic to the same vectors absorbed one at a time.
    package func absorb(
        _ v: UnsafePointer<Double>, count k: Int, stride ld: Int, firstSample: Int, schedule: FactorSchedule,
        sqrtDamping: Double
    ) {
        absorb(
            v, count: k, stride: ld, firstSample: firstSample, schedule: schedule, sqrtDamping: sqrtDamping,
            product: nil)
    }

    /// Absorbs one vector `v` as ``absorb(_:count:stride:firstSample:schedule:sqrtDamping:)``
    /// does, then writes `u = P w` with the updated P (`w` may be `v`).
    ///
    /// At n ≤ ``Kernels/smallDimension`` this costs less than the two calls: P·w is computed in
    /// the same pass over P as P·v, and corrected for the rank-2 update P' = P + α y yᵀ + β z zᵀ
    /// in O(n), as P'w = P w + α y (yᵀw) + β z (zᵀw). Equal in exact arithmetic to `multiply`
    /// after `absorb`; when the update re-inverts P from C (a failed health check), u comes from
    /// the new P.
    package func absorb(
        _ v: UnsafePointer<Double>, firstSample: Int, schedule: FactorSchedule, sqrtDamping: Double,
        thenMultiply w: UnsafePointer<Double>, into u: UnsafeMutablePointer<Double>
    ) {
        absorb(
            v, count: 1, stride: dimension, firstSample: firstSample, schedule: schedule, sqrtDamping: sqrtDamping,
            product: (w, u))
    }

    private func absorb(
        _ v: UnsafePointer<Double>, count k: Int, stride ld: Int, firstSample: Int, schedule: FactorSchedule,
        sqrtDamping: Double, product: (w: UnsafePointer<Double>, u: UnsafeMutablePointer<Double>)?
    ) {
        precondition(k >= 1 && k <= capacity, "InverseCovariance.absorb: block of \(k), capacity \(capacity)")
        let n = dimension
        if !book.isInitialized {
            var s = 0.0
            for j in 0..<k { s += Kernels.dot(n: n, v + j * ld, v + j * ld) }
            let gamma = initialScale ?? s / Double(k * n)
            resetToIdentity(scale: gamma > 0 && gamma.isFinite ? gamma : 1)
        }
        if k > 1, n <= Self.sequentialDimension {
            // Small factors: k fused Sherman–Morrison passes cost less than one Woodbury update
            // (`ngd bench speed --only kernels`), and equal it in exact arithmetic.
            for j in 0..<k {
                absorb(
                    v + j * ld, count: 1, stride: ld, firstSample: firstSample + j, schedule: schedule,
                    sqrtDamping: sqrtDamping, product: nil)
            }
            return
        }
        // Sequential bookkeeping: rates, traces and injection weights per sample, and the
        // total decay a = Π(1−ε_j). Weights are finished below, once the later decays are known.
        var decay = 1.0
        let w = weights.base
        for j in 0..<k {
            let eps = schedule.rate(at: firstSample + j)
            let norm2 = Kernels.dot(n: n, v + j * ld, v + j * ld)
            book.trace = (1 - eps) * book.trace + eps * norm2
            decay *= 1 - eps
            w[j] = eps
            w[k + j] = eps * sqrtDamping * book.trace
        }
        // Weight of sample j after the decays of the samples that follow it in the block.
        var after = 1.0
        var j = k - 1
        while j >= 0 {
            w[j] *= after
            w[k + j] *= after
            after *= 1 - schedule.rate(at: firstSample + j)
            j -= 1
        }
        let startCursor = book.cursor
        let fusedSmall = k == 1 && n <= Kernels.smallDimension
        if fusedSmall {
            // C's update rides in the same pass over memory as P's (its weight is known now).
            smallShermanMorrison(
                v, weight: w[0], decay: decay, inject: book.cursor, injectionWeight: w[1],
                covarianceWeight: w[0] / (cScale * decay), product: product)
        } else if k == 1 {
            shermanMorrison(v, weight: w[0], decay: decay)
            injectUnit(book.cursor, weight: w[1])
        } else {
            let r = rows.base
            for j in 0..<k {
                let sw = w[j].squareRoot()
                for i in 0..<n { r[j * n + i] = sw * v[j * ld + i] }
            }
            woodbury(sampleRows: k, injectionStart: startCursor, decay: decay)
        }
        book.cursor = (startCursor + k) % n
        // C ← a·C + Σ w_j v_j v_jᵀ + Σ injections, with the decay carried in cScale.
        cScale *= decay
        let inv = 1 / cScale
        if k > 1 {
            // The first k rows of `rows` are √w_j·v_j, untouched by the Woodbury update: one
            // rank-k pass over C instead of k rank-1 passes.
            Kernels.symmetricRankUpdate(k: k, n: n, alpha: inv, v: rows.base, ldv: n, p: c.base)
        } else if fusedSmall {
            // Done in smallShermanMorrison.
        } else {
            Kernels.symmetricRankUpdate(k: 1, n: n, alpha: w[0] * inv, v: v, ldv: n, p: c.base)
        }
        for j in 0..<k {
            let ci = (startCursor + j) % n
            c.base[ci * n + ci] += w[k + j] * inv
        }
        renormalise()
        book.updateCount += k
        sinceRefresh += k
        let inversions = book.refreshCount + book.resetCount
        afterUpdate(previousCount: book.updateCount - k)
        if let product, !fusedSmall || book.refreshCount + book.resetCount != inversions {
            multiply(product.w, count: 1, stride: dimension, into: product.u)
        }
    }

    /// P ← (aC + ω vvᵀ)⁻¹ given P = C⁻¹, in the scaled storage.
    private func shermanMorrison(_ v: UnsafePointer<Double>, weight omega: Double, decay a: Double) {
        let n = dimension
        let y = products.base
        Kernels.symmetricMultiply(k: 1, n: n, alpha: 1, p: p.base, v: v, ldv: n, u: y, ldu: n)
        let quad = Kernels.dot(n: n, v, y)
        let s = a + pScale * omega * quad
        notePivot(s / a)
        guard s.isFinite, s > 0 else { return }
        Kernels.symmetricRankUpdate(k: 1, n: n, alpha: -pScale * omega / s, v: y, ldv: n, p: p.base)
        pScale /= a
    }

    /// The sample's Sherman–Morrison update and the injection's, fused into one pass over P
    /// (small n): with P' = P − α y yᵀ (y = P v), P'e_c = P e_c − α y y_c needs no second pass, so
    /// P'' = P − α y yᵀ − β z zᵀ is one rank-2 update. Equal in exact arithmetic to
    /// ``shermanMorrison(_:weight:decay:)`` followed by ``injectUnit(_:weight:)``.
    /// C ← C + `covarianceWeight`·v vᵀ (in C's storage scale) is applied in the same pass.
    private func smallShermanMorrison(
        _ v: UnsafePointer<Double>, weight omega: Double, decay a: Double, inject index: Int,
        injectionWeight omega2: Double, covarianceWeight gamma: Double,
        product: (w: UnsafePointer<Double>, u: UnsafeMutablePointer<Double>)?
    ) {
        let n = dimension
        let y = products.base
        let z = probe.base  // 2n of scratch; the health check uses it only between updates
        let pb = p.base
        if let product {
            // u holds P·w (stored scale) until the correction below.
            Kernels.smallSymmetricMultiply(n: n, p: pb, v: v, y: y, w: product.w, t: product.u)
        } else {
            Kernels.smallSymmetricMultiply(n: n, alpha: 1, p: pb, v: v, y: y)
        }
        let quad = Kernels.smallDot(n: n, v, y)
        let s = a + pScale * omega * quad
        notePivot(s / a)
        // As in the unfused path, a failed pivot skips the sample's update but not the injection.
        let ok = s.isFinite && s > 0
        let alpha = ok ? -pScale * omega / s : 0
        // After the sample's update the stored matrix carries the decay: pScale' = pScale/a.
        let scale2 = ok ? pScale / a : pScale
        var beta = 0.0
        if omega2 > 0 {
            // Row `index` of the updated stored matrix: P[index, j] + alpha·y_index·y_j.
            let yc = y[index]
            for j in 0..<index { z[j] = pb[j &* n &+ index] + alpha * yc * y[j] }
            for j in index..<n { z[j] = pb[index &* n &+ j] + alpha * yc * y[j] }
            let s2 = 1 + scale2 * omega2 * z[index]
            notePivot(s2)
            if s2.isFinite, s2 > 0 { beta = -scale2 * omega2 / s2 }
        }
        Kernels.smallFactorUpdate(n: n, p: pb, alpha: alpha, y: y, beta: beta, z: z, c: c.base, gamma: gamma, v: v)
        pScale = scale2
        if let product {
            // P'w = P w + α y (yᵀw) + β z (zᵀw) in the stored scale, then times pScale'.
            let w = product.w
            let u = product.u
            let a = alpha * Kernels.smallDot(n: n, y, w)
            if beta != 0 {
                let b = beta * Kernels.smallDot(n: n, z, w)
                for j in 0..<n { u[j] = scale2 * (u[j] + (a * y[j] + b * z[j])) }
            } else {
                for j in 0..<n { u[j] = scale2 * (u[j] + a * y[j]) }
            }
        }
    }

    /// P ← (C + ω e_c e_cᵀ)⁻¹: a Sherman–Morrison update whose P·e_c is just row c of P.
    private func injectUnit(_ index: Int, weight omega: Double) {
        guard omega > 0 else { return }
        let n = dimension
        let y = products.base
        copyRow(index, scaledBy: 1, into: y)
        let s = 1 + pScale * omega * y[index]
        notePivot(s)
        guard s.isFinite, s > 0 else { return }
        Kernels.symmetricRankUpdate(k: 1, n: n, alpha: -pScale * omega / s, v: y, ldv: n, p: p.base)
    }

    /// `out = scale ·` row `c` of the stored symmetric P, read from its upper triangle: column c
    /// above the diagonal, row c from the diagonal on.
    @inline(__always) private func copyRow(_ c: Int, scaledBy scale: Double, into out: UnsafeMutablePointer<Double>) {
        let n = dimension
        let pb = p.base
        for i in 0..<c { out[i] = scale * pb[i &* n &+ c] }
        for i in c..<n { out[i] = scale * pb[c &* n &+ i] }
    }

    /// P ← (aC + VᵀV)⁻¹ for r = 2k rows V: the k scaled sample vectors in `rows`, then k scaled
    /// unit vectors √w·e_c (the damping injections, c cycling from `injectionStart`, weights in
    /// `weights[k…]`): (1/a)[P − P Vᵀ (aI + V P Vᵀ)⁻¹ V P], in the scaled storage.
    ///
    /// The unit rows are never multiplied: their products with P are scaled rows of P (copied),
    /// and their entries of the r × r Gram matrix V P Vᵀ are entries of P V_sᵀ and of P. Only the
    /// k sample rows go through `symm` and `gemm`, a quarter of the Gram work of the dense form.
    private func woodbury(sampleRows k: Int, injectionStart: Int, decay a: Double) {
        let n = dimension
        let r = 2 * k
        let y = products.base
        let g = gram.base
        let pb = p.base
        let w = weights.base
        @inline(__always) func entry(_ i: Int, _ j: Int) -> Double { i <= j ? pb[i &* n &+ j] : pb[j &* n &+ i] }
        Kernels.symmetricMultiply(k: k, n: n, alpha: 1, p: pb, v: rows.base, ldv: n, u: y, ldu: n)
        // Gram matrix, lower triangle (all the Cholesky and the solve read): the sample block by
        // gemm, then the injection rows from Y = V_s P and from P itself.
        Kernels.multiplyTransposed(k: k, m: k, n: n, x: y, ldx: n, w: rows.base, ldw: n, y: g, ldy: r)
        let sw = w + 2 * k  // √ of the injection weights, once each
        for i in 0..<k { sw[i] = w[k + i].squareRoot() }
        for i in 0..<k {
            let ci = (injectionStart + i) % n
            copyRow(ci, scaledBy: sw[i], into: y + (k + i) * n)
            let grow = g + (k + i) * r
            for j in 0..<k { grow[j] = sw[i] * y[j &* n &+ ci] }
            for j in 0...i { grow[k + j] = sw[i] * sw[j] * entry(ci, (injectionStart + j) % n) }
        }
        for i in 0..<r {
            for j in 0...i { g[i * r + j] *= pScale }
            g[i * r + i] += a
        }
        // Cholesky of the small r × r system in place (lower triangle); pivots² ≥ a exactly.
        guard Kernels.cholesky(n: r, g) else {
            notePivot(-.infinity)
            return
        }
        for jj in 0..<r { notePivot(g[jj * r + jj] * g[jj * r + jj] / a) }
        Kernels.solveLowerTriangular(k: r, n: n, l: g, b: y, ldb: n)
        Kernels.symmetricRankUpdate(k: r, n: n, alpha: -pScale, v: y, ldv: n, p: p.base)
        pScale /= a
    }

    @inline(__always) private func notePivot(_ ratio: Double) {
        if !(ratio >= minPivotRatio) { minPivotRatio = ratio.isFinite ? ratio : -.greatestFiniteMagnitude }
        if !(ratio >= observedMinPivotRatio) {
            observedMinPivotRatio = ratio.isFinite ? ratio : -.greatestFiniteMagnitude
        }
    }

    /// The smallest Sherman–Morrison/Woodbury pivot ratio S/a (≥ 1 in exact arithmetic) since
    /// the previous call, or nil when no update ran since; the next call starts afresh.
    public func takeObservedMinPivotRatio() -> Double? {
        defer { observedMinPivotRatio = .infinity }
        return observedMinPivotRatio == .infinity ? nil : observedMinPivotRatio
    }

    /// Folds the scalars back into the matrices when they leave [2⁻⁶⁴, 2⁶⁴]. Scaling by a power
    /// of two is exact, so this changes no value.
    private func renormalise() {
        let nn = dimension * dimension
        if pScale.isFinite, pScale > 0, abs(pScale.exponent) > 64 {
            let e = pScale.exponent
            Kernels.scale(n: nn, alpha: Double(sign: .plus, exponent: e, significand: 1), p.base)
            pScale = Double(sign: .plus, exponent: pScale.exponent - e, significand: pScale.significand)
        }
        if cScale.isFinite, cScale > 0, abs(cScale.exponent) > 64 {
            let e = cScale.exponent
            Kernels.scale(n: nn, alpha: Double(sign: .plus, exponent: e, significand: 1), c.base)
            cScale = Double(sign: .plus, exponent: cScale.exponent - e, significand: cScale.significand)
        }
    }

    /// Runs the health check and the refresh when they are due.
    private func afterUpdate(previousCount: Int) {
        let pivotFailed = minPivotRatio < 1 - 1e-6
        let interval = health.interval
        let due = interval > 0 && previousCount / interval != book.updateCount / interval
        if pivotFailed || due {
            let report = checkHealth()
            if !report.isHealthy { refresh() }
        }
        if health.refreshInterval > 0, sinceRefresh >= health.refreshInterval { refresh() }
    }

    /// `u = P v` for `count` vectors (row-major, row stride `stride`), written with row stride n.
    @inline(__always) package func multiply(
        _ v: UnsafePointer<Double>, count k: Int, stride ld: Int, into u: UnsafeMutablePointer<Double>
    ) { Kernels.symmetricMultiply(k: k, n: dimension, alpha: pScale, p: p.base, v: v, ldv: ld, u: u, ldu: dimension) }
}
