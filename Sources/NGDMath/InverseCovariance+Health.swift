/// The numerical health of an ``InverseCovariance`` at one moment.
public struct HealthReport: Codable, Equatable, Sendable {
    /// An estimate of ‖PC − I‖_F/√n from one random ±1 probe z: ‖P(Cz) − z‖/√n. In exact
    /// arithmetic it is 0; its expectation squared equals ‖PC − I‖²_F/n. `nil` when P or C
    /// holds a non-finite value.
    public var drift: Double?
    /// The smallest Sherman–Morrison/Woodbury pivot ratio S/a since the previous check (≥ 1 in
    /// exact arithmetic; below 1 means P has lost positive definiteness). `nil` when no update
    /// ran since the previous check.
    public var minPivotRatio: Double?
    /// Whether every stored entry of P and C, and both scale factors, are finite.
    public var isFinite: Bool
    /// The update count at which the check ran.
    public var atUpdate: Int
    /// Whether the tolerance accepted the report.
    public var isHealthy: Bool
}

extension InverseCovariance {
    /// Measures drift, pivots and finiteness now (two `symv`s and one pass over P and C), and
    /// records the result in ``lastHealth``. It does not refresh; updates do that when needed.
    @discardableResult public func checkHealth() -> HealthReport {
        let n = dimension
        var finite = pScale.isFinite && cScale.isFinite && pScale > 0 && cScale > 0
        if finite {
            scan: for i in 0..<n {
                for j in i..<n where !(p.base[i * n + j].isFinite && c.base[i * n + j].isFinite) {
                    finite = false
                    break scan
                }
            }
        }
        var drift: Double?
        if finite {
            let z = probe.base
            let t = probe.base + n
            var seed = UInt64(truncatingIfNeeded: book.updateCount) &* 0x2545_F491_4F6C_DD1D
            for i in 0..<n { z[i] = RandomSource.splitMix64(&seed) & 1 == 0 ? 1 : -1 }
            Kernels.symmetricMultiply(k: 1, n: n, alpha: cScale, p: c.base, v: z, ldv: n, u: t, ldu: n)
            Kernels.symmetricMultiply(k: 1, n: n, alpha: pScale, p: p.base, v: t, ldv: n, u: z + 0, ldu: n)
            // z now holds P C z; subtract the probe again (regenerate it from the same seed).
            var seed2 = UInt64(truncatingIfNeeded: book.updateCount) &* 0x2545_F491_4F6C_DD1D
            var s = 0.0
            for i in 0..<n {
                let zi: Double = RandomSource.splitMix64(&seed2) & 1 == 0 ? 1 : -1
                let d = z[i] - zi
                s += d * d
            }
            drift = (s / Double(n)).squareRoot()
        }
        let healthy = finite && (drift ?? .infinity) <= health.driftTolerance && minPivotRatio >= 1 - 1e-6
        let report = HealthReport(
            drift: drift, minPivotRatio: minPivotRatio.isInfinite && minPivotRatio > 0 ? nil : minPivotRatio,
            isFinite: finite, atUpdate: book.updateCount, isHealthy: healthy)
        lastHealth = report
        minPivotRatio = .infinity
        return report
    }

    /// Re-inverts P from the tracked C by Cholesky (LAPACK `dpotrf` + `dpotri`), O(n³).
    ///
    /// If C itself is not positive definite (only possible after non-finite input reached it),
    /// both are reset to γI with γ = T/n, the current mean eigenvalue, and ``resetCount`` grows.
    public func refresh() {
        let n = dimension
        p.base.update(from: c.base, count: n * n)
        if cScale.isFinite, cScale > 0, Kernels.invertPositiveDefinite(n: n, p.base) {
            pScale = 1 / cScale
        } else {
            let gamma = book.trace / Double(n)
            book.resetCount += 1
            resetToIdentity(scale: gamma > 0 && gamma.isFinite ? gamma : 1)
        }
        book.refreshCount += 1
        sinceRefresh = 0
        minPivotRatio = .infinity
    }

    /// Sets C = γI and P = I/γ, keeping the counters.
    func resetToIdentity(scale gamma: Double) {
        let n = dimension
        p.fill(0)
        c.fill(0)
        for i in 0..<n {
            p.base[i * n + i] = 1
            c.base[i * n + i] = 1
        }
        pScale = 1 / gamma
        cScale = gamma
        book.trace = gamma * Double(n)
        book.isInitialized = true
    }

    /// Replaces C with a given symmetric positive-definite matrix (full, row-major `n × n`; only
    /// the upper triangle is read) and P with its inverse. T becomes tr(C).
    /// - Throws: ``MathError`` when the size is wrong or C is not positive definite.
    public func reset(covariance: [Double]) throws {
        let n = dimension
        guard covariance.count == n * n else {
            throw MathError.dimensionMismatch(what: "covariance", expected: n * n, got: covariance.count)
        }
        let scratch = DoubleBuffer(covariance)
        guard Kernels.invertPositiveDefinite(n: n, scratch.base) else {
            throw MathError.invalidState("the covariance is not positive definite")
        }
        c.assign(covariance)
        p.base.update(from: scratch.base, count: n * n)
        cScale = 1
        pScale = 1
        book.trace = (0..<n).reduce(0.0) { $0 + covariance[$1 * n + $1] }
        book.isInitialized = true
        sinceRefresh = 0
        minPivotRatio = .infinity
    }

    /// P as a full symmetric row-major `n × n` array (a copy; for inspection and tests).
    public var inverse: [Double] { Self.fullSymmetric(p, scale: pScale, n: dimension) }

    /// C as a full symmetric row-major `n × n` array (a copy; for inspection and tests).
    public var covariance: [Double] { Self.fullSymmetric(c, scale: cScale, n: dimension) }

    static func fullSymmetric(_ b: DoubleBuffer, scale: Double, n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                let x = scale * b.base[i * n + j]
                out[i * n + j] = x
                out[j * n + i] = x
            }
        }
        return out
    }
}

/// A serialisable snapshot of an ``InverseCovariance``. Matrices are stored as their packed
/// upper triangles (row by row), each with its scale factor, exactly as held in memory.
public struct InverseCovarianceState: Codable, Equatable, Sendable {
    public var dimension: Int
    public var inversePacked: [Double]
    public var inverseScale: Double
    public var covariancePacked: [Double]
    public var covarianceScale: Double
    public var trace: Double
    public var cursor: Int
    public var isInitialized: Bool
    public var updateCount: Int
    public var refreshCount: Int
    public var resetCount: Int
    public var sinceRefresh: Int
    public var lastHealth: HealthReport?
    /// The smallest pivot ratio since the last health check; `nil` when none.
    public var pivotRatioSinceCheck: Double?
}

extension InverseCovariance {
    /// A snapshot of everything the estimator holds.
    public var state: InverseCovarianceState {
        InverseCovarianceState(
            dimension: dimension, inversePacked: Self.packUpper(p, n: dimension), inverseScale: pScale,
            covariancePacked: Self.packUpper(c, n: dimension), covarianceScale: cScale, trace: book.trace,
            cursor: book.cursor, isInitialized: book.isInitialized, updateCount: book.updateCount,
            refreshCount: book.refreshCount, resetCount: book.resetCount, sinceRefresh: sinceRefresh,
            lastHealth: lastHealth,
            pivotRatioSinceCheck: minPivotRatio.isInfinite && minPivotRatio > 0 ? nil : minPivotRatio)
    }

    /// Restores a snapshot taken from an estimator of the same dimension.
    /// - Throws: ``MathError/invalidState(_:)`` when the sizes or values do not fit.
    public func restore(_ s: InverseCovarianceState) throws {
        let n = dimension
        let packed = n * (n + 1) / 2
        guard s.dimension == n, s.inversePacked.count == packed, s.covariancePacked.count == packed else {
            throw MathError.invalidState(
                "inverse-covariance state of dimension \(s.dimension) does not fit dimension \(n)")
        }
        guard s.cursor >= 0, s.cursor < n, s.updateCount >= 0, s.sinceRefresh >= 0 else {
            throw MathError.invalidState("inverse-covariance counters out of range")
        }
        guard s.inverseScale.isFinite, s.inverseScale > 0, s.covarianceScale.isFinite, s.covarianceScale > 0,
            s.trace.isFinite, s.trace >= 0, s.inversePacked.allSatisfy({ $0.isFinite }),
            s.covariancePacked.allSatisfy({ $0.isFinite })
        else { throw MathError.invalidState("inverse-covariance state holds a non-finite or non-positive value") }
        Self.unpackUpper(s.inversePacked, into: p, n: n)
        Self.unpackUpper(s.covariancePacked, into: c, n: n)
        pScale = s.inverseScale
        cScale = s.covarianceScale
        book.trace = s.trace
        book.cursor = s.cursor
        book.isInitialized = s.isInitialized
        book.updateCount = s.updateCount
        book.refreshCount = s.refreshCount
        book.resetCount = s.resetCount
        sinceRefresh = s.sinceRefresh
        lastHealth = s.lastHealth
        minPivotRatio = s.pivotRatioSinceCheck ?? .infinity
    }

    static func packUpper(_ b: DoubleBuffer, n: Int) -> [Double] {
        var out = [Double]()
        out.reserveCapacity(n * (n + 1) / 2)
        for i in 0..<n { for j in i..<n { out.append(b.base[i * n + j]) } }
        return out
    }

    static func unpackUpper(_ values: [Double], into b: DoubleBuffer, n: Int) {
        b.fill(0)
        var k = 0
        for i in 0..<n {
            for j in i..<n {
                b.base[i * n + j] = values[k]
                k += 1
            }
        }
    }
}
