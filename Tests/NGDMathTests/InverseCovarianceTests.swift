import Testing

@testable import NGDMath

/// The estimator against its definition: C tracked naively, term by term, and inverted directly.
@Suite struct InverseCovarianceTests {
    /// A stream of `count` vectors v = B z, z ~ N(0, I_rank): rank-deficient when rank < n.
    static func stream(n: Int, rank: Int, count: Int, seed: UInt64) -> [Double] {
        var r = RandomSource(seed: seed)
        let b = (0..<(n * rank)).map { i in r.nextGaussian() * (1 + Double(i % n)) / Double(n) }
        var out = [Double](repeating: 0, count: count * n)
        var z = [Double](repeating: 0, count: rank)
        for t in 0..<count {
            for j in 0..<rank { z[j] = r.nextGaussian() }
            for i in 0..<n {
                var s = 0.0
                for j in 0..<rank { s += b[i * rank + j] * z[j] }
                out[t * n + i] = s
            }
        }
        return out
    }

    /// The definition, updated one vector at a time:
    /// T ← (1−ε)T + ε‖v‖², C ← (1−ε)C + ε vvᵀ, C_cc += ε·√λ·T, c ← c + 1 mod n.
    /// C starts at γI, γ = the mean of ‖v‖²/n over the first block.
    static func reference(
        _ v: [Double], n: Int, firstBlock: Int, schedule: FactorSchedule, sqrtDamping: Double
    ) -> [Double] {
        let count = v.count / n
        var gamma = 0.0
        for t in 0..<firstBlock { for i in 0..<n { gamma += v[t * n + i] * v[t * n + i] } }
        gamma /= Double(firstBlock * n)
        var c = Dense.identity(n).map { $0 * gamma }
        var trace = gamma * Double(n)
        var cursor = 0
        for t in 0..<count {
            let eps = schedule.rate(at: t)
            var norm2 = 0.0
            for i in 0..<n { norm2 += v[t * n + i] * v[t * n + i] }
            trace = (1 - eps) * trace + eps * norm2
            for i in 0..<n {
                for j in 0..<n { c[i * n + j] = (1 - eps) * c[i * n + j] + eps * v[t * n + i] * v[t * n + j] }
            }
            c[cursor * n + cursor] += eps * sqrtDamping * trace
            cursor = (cursor + 1) % n
        }
        return c
    }

    static func absorbAll(
        _ e: InverseCovariance, _ v: [Double], block: Int, schedule: FactorSchedule, sqrtDamping: Double
    ) {
        let n = e.dimension
        let count = v.count / n
        v.withUnsafeBufferPointer { p in
            var t = 0
            while t < count {
                let k = min(block, count - t)
                e.absorb(
                    p.baseAddress! + t * n, count: k, stride: n, firstSample: t, schedule: schedule,
                    sqrtDamping: sqrtDamping)
                t += k
            }
        }
    }

    /// 10⁵ updates at the damping floor λ = 10⁻⁸, health checks off so nothing repairs the
    /// inverse, full rank and a rank-3 bottleneck: Sherman–Morrison (k = 1) at n = 12 (the fused
    /// small-n Swift pass) and n = 60 (BLAS); blocks of k = 16 at n = 12 (k fused passes) and at
    /// n = 40 (one Woodbury update).
    @Test(arguments: [(1, 12, 12), (1, 3, 12), (16, 12, 12), (16, 3, 40), (1, 60, 60), (1, 3, 60)])
    func inverseMatchesDirectInverseAfter100kUpdates(block: Int, rank: Int, n: Int) {
        let count = 100_000
        let schedule = FactorSchedule(rate: 3e-3, warmup: 334)
        let sqrtDamping = (1e-8).squareRoot()
        let v = Self.stream(n: n, rank: rank, count: count, seed: UInt64(7 + rank))
        let e = InverseCovariance(dimension: n, capacity: block, health: HealthSettings(interval: 0))
        Self.absorbAll(e, v, block: block, schedule: schedule, sqrtDamping: sqrtDamping)
        let c = Self.reference(v, n: n, firstBlock: block, schedule: schedule, sqrtDamping: sqrtDamping)
        #expect(frobeniusRelativeError(e.covariance, c) < 1e-11)
        let direct = Dense.inverse(c, n)
        let error = frobeniusRelativeError(e.inverse, direct)
        #expect(error < 1e-9, "relative error of P after \(count) updates: \(error)")
        #expect(e.refreshCount == 0 && e.resetCount == 0)
        // The damping holds the condition number near 1/√λ_min for the bottleneck.
        #expect(e.checkHealth().isHealthy)
    }

    /// At n = 40 a block is one Woodbury update; at n = 9 it is k fused Sherman–Morrison
    /// passes (``InverseCovariance/sequentialDimension``). Both equal one-at-a-time updates.
    /// Blocks of 63 at n = 40 wrap the injection cursor within a block (k > n).
    @Test(arguments: [(9, 16), (40, 16), (40, 63)]) func woodburyBlockEqualsSequentialShermanMorrison(
        n: Int, blockSize: Int
    ) {
        let v = Self.stream(n: n, rank: n, count: 64, seed: 3)
        let schedule = FactorSchedule(rate: 0.05, warmup: 10)  // crosses the end of warm-up
        let one = InverseCovariance(dimension: n, capacity: 1)
        let block = InverseCovariance(dimension: n, capacity: blockSize)
        // The initial scale comes from the first block, so give both the same first block.
        v.withUnsafeBufferPointer { p in
            one.absorb(p.baseAddress!, count: 1, stride: n, firstSample: 0, schedule: schedule, sqrtDamping: 0.1)
            block.absorb(p.baseAddress!, count: 1, stride: n, firstSample: 0, schedule: schedule, sqrtDamping: 0.1)
            for t in 1..<64 {
                one.absorb(
                    p.baseAddress! + t * n, count: 1, stride: n, firstSample: t, schedule: schedule, sqrtDamping: 0.1)
            }
            var t = 1
            while t < 64 {
                let k = min(blockSize, 64 - t)
                block.absorb(
                    p.baseAddress! + t * n, count: k, stride: n, firstSample: t, schedule: schedule, sqrtDamping: 0.1)
                t += k
            }
        }
        #expect(frobeniusRelativeError(block.inverse, one.inverse) < 1e-12)
        #expect(frobeniusRelativeError(block.covariance, one.covariance) < 1e-13)
        #expect(block.trace == one.trace || abs(block.trace - one.trace) < 1e-13 * one.trace)
        #expect(block.cursor == one.cursor)
    }

    /// `absorb(…thenMultiply:into:)` against `absorb` followed by `multiply`, for the fused
    /// small-n pass (n = 12) and the BLAS path (n = 60), with w = v (the input factor) and w ≠ v
    /// (the error factor), and across a re-inversion forced by a health check every 7 updates
    /// with a drift tolerance nothing meets.
    @Test(arguments: [(12, false), (12, true), (60, false), (60, true)]) func absorbThenMultiplyEqualsAbsorbAndMultiply(
        n: Int, refreshing: Bool
    ) {
        let health = refreshing ? HealthSettings(interval: 7, driftTolerance: 1e-300) : HealthSettings()
        let fused = InverseCovariance(dimension: n, health: health)
        let plain = InverseCovariance(dimension: n, health: health)
        let schedule = FactorSchedule(rate: 0.01, warmup: 20)
        let v = Self.stream(n: n, rank: n, count: 200, seed: 41)
        let w = Self.stream(n: n, rank: n, count: 200, seed: 42)
        var u = [Double](repeating: 0, count: n)
        var uRef = u
        var worst = 0.0
        v.withUnsafeBufferPointer { vp in
            w.withUnsafeBufferPointer { wp in
                for t in 0..<200 {
                    let x = vp.baseAddress! + t * n
                    let other = t % 2 == 0 ? x : wp.baseAddress! + t * n
                    fused.absorb(x, firstSample: t, schedule: schedule, sqrtDamping: 0.1, thenMultiply: other, into: &u)
                    plain.absorb(x, count: 1, stride: n, firstSample: t, schedule: schedule, sqrtDamping: 0.1)
                    plain.multiply(other, count: 1, stride: n, into: &uRef)
                    worst = max(worst, relativeError(u, uRef))
                }
            }
        }
        #expect(worst < 1e-10, "worst relative error of P'w: \(worst)")
        #expect(frobeniusRelativeError(fused.inverse, plain.inverse) < 1e-12)
        #expect(fused.refreshCount == plain.refreshCount && (fused.refreshCount > 0) == refreshing)
    }

    @Test func dampingIsRelativeToTheTrace() {
        // Two streams that differ by a factor 10⁶ in scale get inverses that differ by 10⁻⁶.
        let n = 6
        let v = Self.stream(n: n, rank: 6, count: 2_000, seed: 5)
        let big = v.map { $0 * 1e3 }
        let schedule = FactorSchedule(rate: 1e-2, warmup: 100)
        let a = InverseCovariance(dimension: n)
        let b = InverseCovariance(dimension: n)
        Self.absorbAll(a, v, block: 1, schedule: schedule, sqrtDamping: 0.1)
        Self.absorbAll(b, big, block: 1, schedule: schedule, sqrtDamping: 0.1)
        #expect(frobeniusRelativeError(b.inverse.map { $0 * 1e6 }, a.inverse) < 1e-10)
        #expect(abs(a.damping(sqrtDamping: 0.1) - 0.1 * a.trace / Double(n)) < 1e-15)
    }

    @Test func healthCheckDetectsCorruptionAndRefreshRepairsIt() {
        let n = 10
        let v = Self.stream(n: n, rank: 4, count: 3_000, seed: 9)
        let schedule = FactorSchedule(rate: 3e-3, warmup: 334)
        let e = InverseCovariance(dimension: n, health: HealthSettings(interval: 500, driftTolerance: 1e-6))
        Self.absorbAll(e, v, block: 1, schedule: schedule, sqrtDamping: 1e-4)
        let healthy = e.checkHealth()
        #expect(healthy.isHealthy)
        #expect((healthy.drift ?? 1) < 1e-9)
        #expect(e.refreshCount == 0)

        // Corrupt one stored entry of P, as accumulated round-off would.
        e.p.base[2 * n + 5] *= 1.01
        let sick = e.checkHealth()
        #expect(!sick.isHealthy)
        #expect((sick.drift ?? 0) > 1e-6)

        // The next scheduled check (every 500 updates) finds it and re-inverts from C.
        let more = Self.stream(n: n, rank: 4, count: 500, seed: 10)
        more.withUnsafeBufferPointer { p in
            for t in 0..<500 {
                e.absorb(
                    p.baseAddress! + t * n, count: 1, stride: n, firstSample: 3_000 + t, schedule: schedule,
                    sqrtDamping: 1e-4)
            }
        }
        #expect(e.refreshCount == 1)
        #expect(frobeniusRelativeError(e.inverse, Dense.inverse(e.covariance, n)) < 1e-9)
    }

    @Test func nonFiniteInputIsContainedByAReset() {
        let n = 5
        let e = InverseCovariance(dimension: n)
        let schedule = FactorSchedule(rate: 0.01, warmup: 0)
        let good = Self.stream(n: n, rank: 5, count: 200, seed: 2)
        Self.absorbAll(e, good, block: 1, schedule: schedule, sqrtDamping: 0.1)
        var bad = Array(good[0..<n])
        bad[2] = .nan
        bad.withUnsafeBufferPointer { p in
            e.absorb(p.baseAddress!, count: 1, stride: n, firstSample: 200, schedule: schedule, sqrtDamping: 0.1)
        }
        // The pivot check fails at once; C is NaN so it cannot be inverted, and both reset.
        #expect(e.resetCount == 1)
        #expect(e.inverse.allSatisfy { $0.isFinite })
    }

    @Test func periodicRefresh() {
        let n = 4
        let e = InverseCovariance(dimension: n, health: HealthSettings(interval: 0, refreshInterval: 100))
        let v = Self.stream(n: n, rank: 4, count: 1_000, seed: 4)
        Self.absorbAll(e, v, block: 1, schedule: FactorSchedule(rate: 0.01, warmup: 10), sqrtDamping: 0.1)
        #expect(e.refreshCount == 10)
        #expect(frobeniusRelativeError(e.inverse, Dense.inverse(e.covariance, n)) < 1e-12)
    }

    @Test func scaleFactorsStayBoundedOverALongStream() {
        // (1−ε)^−t overflows a Double after ~240k updates at ε = 3e-3 without renormalisation.
        let n = 3
        let e = InverseCovariance(dimension: n, health: HealthSettings(interval: 0))
        let v = Self.stream(n: n, rank: 3, count: 300_000, seed: 8)
        Self.absorbAll(e, v, block: 1, schedule: FactorSchedule(rate: 3e-3, warmup: 334), sqrtDamping: 0.1)
        #expect(abs(e.pScale.exponent) <= 65 && abs(e.cScale.exponent) <= 65)
        #expect(frobeniusRelativeError(e.inverse, Dense.inverse(e.covariance, n)) < 1e-10)
    }

    @Test func resetFromACovarianceInvertsIt() throws {
        let n = 5
        let b = gaussianArray(n * n, seed: 3)
        var c = Dense.multiply(b, Dense.transpose(b, n, n), n, n, n)
        for i in 0..<n { c[i * n + i] += 0.5 }
        let e = InverseCovariance(dimension: n)
        try e.reset(covariance: c)
        #expect(frobeniusRelativeError(e.inverse, Dense.inverse(c, n)) < 1e-12)
        #expect(throws: MathError.self) { try e.reset(covariance: [1, 2, 2, 1, 0]) }
        var indefinite = Dense.identity(n)
        indefinite[0] = -1
        #expect(throws: MathError.self) { try e.reset(covariance: indefinite) }
        #expect(frobeniusRelativeError(e.inverse, Dense.inverse(c, n)) < 1e-12)  // untouched by the failures
    }

    @Test func stateRoundTripContinuesBitForBit() throws {
        let n = 7
        let v = Self.stream(n: n, rank: 7, count: 400, seed: 6)
        let schedule = FactorSchedule(rate: 0.01, warmup: 50)
        let a = InverseCovariance(dimension: n, capacity: 4, health: HealthSettings(interval: 30))
        Self.absorbAll(a, Array(v[0..<(200 * n)]), block: 4, schedule: schedule, sqrtDamping: 0.1)
        let b = InverseCovariance(dimension: n, capacity: 4, health: HealthSettings(interval: 30))
        try b.restore(a.state)
        #expect(b.state == a.state)
        for e in [a, b] {
            Array(v[(200 * n)...]).withUnsafeBufferPointer { p in
                var t = 0
                while t < 200 {
                    e.absorb(
                        p.baseAddress! + t * n, count: 4, stride: n, firstSample: 200 + t, schedule: schedule,
                        sqrtDamping: 0.1)
                    t += 4
                }
            }
        }
        #expect(a.state == b.state)
        let wrong = InverseCovariance(dimension: n + 1)
        #expect(throws: MathError.self) { try wrong.restore(a.state) }
    }
}
