import Foundation
import NGDMath

#if canImport(Glibc)
import Glibc
#endif

/// `ngd bench speed`: what one sample costs, measured against baselines in the same process.
///
/// Every figure is a median over repeated timed batches (each ≥ 2 ms, at least 5 of them), so a
/// noisy neighbour on this shared machine moves single batches, not the median.
public enum SpeedBench {
    /// Median nanoseconds per call of `body`, over batches of calls that each take ≥ `minBatch`.
    public static func nanoseconds(
        batches: Int = 7, minBatch: Duration = .milliseconds(2), _ body: () -> Void
    ) -> Double {
        withoutActuallyEscaping(body) { median(interleavedNanoseconds(rounds: batches, minBatch: minBatch, [$0])[0]) }
    }

    /// Times several bodies in alternation: after calibrating each to about `minBatch`, each round
    /// runs one timed batch of every body in turn. Returns, per body, the ns per call of every
    /// round. On a shared machine whose speed drifts, ratios of the same round are steadier
    /// than ratios of medians taken minutes apart.
    public static func interleavedNanoseconds(
        rounds: Int = 7, minBatch: Duration = .milliseconds(2), _ bodies: [() -> Void]
    ) -> [[Double]] {
        let clock = ContinuousClock()
        let calls = bodies.map { body in
            var calls = 1
            while true {
                let t = clock.measure { for _ in 0..<calls { body() } }
                if t >= minBatch || calls >= 1 << 24 { return calls }
                calls *= t < minBatch / 16 ? 8 : 2
            }
        }
        var samples = [[Double]](repeating: [], count: bodies.count)
        for _ in 0..<rounds {
            for (i, body) in bodies.enumerated() {
                let t = clock.measure { for _ in 0..<calls[i] { body() } }
                samples[i].append(
                    (Double(t.components.attoseconds) / 1e9 + Double(t.components.seconds) * 1e9) / Double(calls[i]))
            }
        }
        return samples
    }

    // MARK: Kernels

    /// One row of the kernel table: a factor update at dimension n with k vectors per update.
    public struct KernelRow: Sendable {
        public let n: Int
        /// 1 is Sherman–Morrison; > 1 is one Woodbury update of rank 2k.
        public let k: Int
        /// ngd's `InverseCovariance.absorb`, ns per sample (per vector).
        public let ngd: Double
        /// The same sequence of OpenBLAS calls alone, ns per sample.
        public let blas: Double
        /// The same operations with ngd's naive Swift reference loops, ns per sample.
        public let naive: Double
        /// blas / ngd: the fraction of the BLAS calls' throughput that ngd's kernel reaches,
        /// the median of the ratios of rounds timed back to back.
        public let fraction: Double
    }

    /// Times the factor update for every `n` in `sizes` and every block size in `blocks`.
    /// `naiveUpTo` caps the dimension at which the (slow) naive reference is timed.
    public static func kernels(
        sizes: [Int], blocks: [Int], naiveUpTo: Int = 1000, progress: (String) -> Void = { _ in }
    ) -> [KernelRow] {
        Kernels.configureSingleThreaded()
        var rows: [KernelRow] = []
        for n in sizes {
            for k in blocks {
                progress("kernels: n = \(n), k = \(k)")
                rows.append(kernel(n: n, k: k, naive: n <= naiveUpTo))
            }
        }
        return rows
    }

    static func kernel(n: Int, k: Int, naive: Bool) -> KernelRow {
        var rng = RandomSource(seed: UInt64(n * 1000 + k))
        let pool = 64
        let vectors = (0..<(pool * n)).map { _ in rng.nextGaussian() }
        // ngd: the estimator itself, cycling through a pool of vectors (health checks included).
        let ic = InverseCovariance(dimension: n, capacity: k)
        let schedule = FactorSchedule(rate: 3e-3, warmup: 0)
        var sample = 0
        func absorb() {
            vectors.withUnsafeBufferPointer { v in
                let start = (sample % (pool - k + 1)) * n
                ic.absorb(
                    v.baseAddress! + start, count: k, stride: n, firstSample: sample, schedule: schedule,
                    sqrtDamping: 0.1)
                sample += k
            }
        }
        // The same calls, on scratch of the same shapes.
        let r = 2 * k
        var p = [Double](repeating: 0, count: n * n)
        var c = p
        for i in 0..<n {
            p[i * n + i] = 1
            c[i * n + i] = 1
        }
        var y = [Double](repeating: 0, count: max(r, 1) * n)
        var rowsV = [Double](repeating: 0, count: max(r, 1) * n)
        for i in 0..<rowsV.count { rowsV[i] = 1e-3 * rng.nextGaussian() }
        var g = [Double](repeating: 0, count: r * r)
        for i in 0..<r { g[i * r + i] = 1 }
        let tiny = 1e-12  // keeps P and C numerically still while timing
        func blasCalls() {
            if k == 1 {
                // dsymv, then dsyr for the sample and the injection on P, and dsyr on C.
                Kernels.symmetricMultiply(k: 1, n: n, alpha: 1, p: p, v: rowsV, ldv: n, u: &y, ldu: n)
                Kernels.symmetricRankUpdate(k: 1, n: n, alpha: -tiny, v: y, ldv: n, p: &p)
                Kernels.symmetricRankUpdate(k: 1, n: n, alpha: -tiny, v: y, ldv: n, p: &p)
                Kernels.symmetricRankUpdate(k: 1, n: n, alpha: tiny, v: rowsV, ldv: n, p: &c)
            } else {
                // dsymm on the sample rows only: the injection rows' products are copied rows of P.
                Kernels.symmetricMultiply(k: k, n: n, alpha: 1, p: p, v: rowsV, ldv: n, u: &y, ldu: n)
                var gram = g  // the sample block of the Gram matrix (dgemm); the injection entries are copied
                Kernels.multiplyTransposed(k: k, m: k, n: n, x: y, ldx: n, w: rowsV, ldw: n, beta: 1, y: &gram, ldy: r)
                _ = Kernels.cholesky(n: r, &gram)  // LAPACK dpotrf: its cost depends on the size only
                Kernels.solveLowerTriangular(k: r, n: n, l: g, b: &y, ldb: n)  // dtrsm
                Kernels.symmetricRankUpdate(k: r, n: n, alpha: -tiny, v: y, ldv: n, p: &p)  // dsyrk, rank 2k on P
                Kernels.symmetricRankUpdate(k: k, n: n, alpha: tiny, v: rowsV, ldv: n, p: &c)  // dsyrk, rank k on C
            }
        }
        // ngd and the BLAS calls alternate, batch by batch, so that both see the same machine.
        let timed = interleavedNanoseconds([absorb, blasCalls])
        let ngd = median(timed[0]) / Double(k)
        let blas = median(timed[1]) / Double(k)
        let fraction = median(zip(timed[1], timed[0]).map { $0 / $1 })
        var naiveNs = Double.nan
        if naive {
            func naiveCalls() {
                p.withUnsafeMutableBufferPointer { pp in
                    c.withUnsafeMutableBufferPointer { cc in
                        y.withUnsafeMutableBufferPointer { yy in
                            rowsV.withUnsafeBufferPointer { v in
                                let P = pp.baseAddress!
                                let C = cc.baseAddress!
                                let Y = yy.baseAddress!
                                let V = v.baseAddress!
                                if k == 1 {
                                    ReferenceKernels.symmetricMultiply(
                                        k: 1, n: n, alpha: 1, p: P, v: V, ldv: n, u: Y, ldu: n)
                                    ReferenceKernels.symmetricRankUpdate(k: 1, n: n, alpha: -tiny, v: Y, ldv: n, p: P)
                                    ReferenceKernels.symmetricRankUpdate(k: 1, n: n, alpha: -tiny, v: Y, ldv: n, p: P)
                                    ReferenceKernels.symmetricRankUpdate(k: 1, n: n, alpha: tiny, v: V, ldv: n, p: C)
                                } else {
                                    ReferenceKernels.symmetricMultiply(
                                        k: k, n: n, alpha: 1, p: P, v: V, ldv: n, u: Y, ldu: n)
                                    var gram = g
                                    gram.withUnsafeMutableBufferPointer { G in
                                        ReferenceKernels.multiplyTransposed(
                                            k: k, m: k, n: n, x: Y, ldx: n, w: V, ldw: n, y: G.baseAddress!, ldy: r)
                                    }
                                    _ = ReferenceKernels.cholesky(n: r, &gram)
                                    g.withUnsafeBufferPointer { L in
                                        ReferenceKernels.solveLowerTriangular(
                                            k: r, n: n, l: L.baseAddress!, b: Y, ldb: n)
                                    }
                                    ReferenceKernels.symmetricRankUpdate(k: r, n: n, alpha: -tiny, v: Y, ldv: n, p: P)
                                    ReferenceKernels.symmetricRankUpdate(k: k, n: n, alpha: tiny, v: V, ldv: n, p: C)
                                }
                            }
                        }
                    }
                }
            }
            naiveNs = nanoseconds(batches: 5) { naiveCalls() } / Double(k)
        }
        return KernelRow(n: n, k: k, ngd: ngd, blas: blas, naive: naiveNs, fraction: fraction)
    }

    public static func kernelTable(_ rows: [KernelRow]) -> String {
        var out = "Factor update (one Fisher factor), ns per sample; median of 7 timed batches\n"
        out += "   n    k   update           ngd     raw BLAS calls    naive Swift   BLAS/ngd   naive/ngd\n"
        for r in rows {
            let kind =
                r.k == 1
                ? "Sherman–Morrison"
                : r.n <= InverseCovariance.sequentialDimension ? "\(r.k) × fused SM" : "Woodbury 2k=\(2 * r.k)"
            out += row([
                .right(String(r.n), 4), .right(String(r.k), 5), .left("", 3), .left(kind, 17), .right(fmt(r.ngd), 10),
                .right(fmt(r.blas), 19), .right(r.naive.isNaN ? "—" : fmt(r.naive), 15),
                .right(String(format: "%.2f", r.fraction), 11),
                .right(r.naive.isNaN ? "—" : String(format: "%.1f", r.naive / r.ngd), 12),
            ])
        }
        out += "BLAS/ngd is the fraction of the throughput of the OpenBLAS calls the update is built on\n"
        out += "(the same calls on the same shapes, alone) that the whole update reaches. Sherman–Morrison:\n"
        out += "dsymv + 3 dsyr (sample, injection, C). Woodbury: dsymm (k sample rows), dgemm (k × k of the gram),\n"
        out += "dpotrf (the 2k × 2k Cholesky), dtrsm, dsyrk (rank 2k, on P), dsyrk (rank k, on C).\n"
        out +=
            "Up to n = \(Kernels.smallDimension) Sherman–Morrison runs one fused Swift pass instead of its BLAS calls, and\n"
        out +=
            "up to n = \(InverseCovariance.sequentialDimension) a block runs k of those passes instead of a Woodbury update (its calls are the baseline).\n"
        return out
    }

    // MARK: Per-sample learning cost

    public struct StepRow: Sendable {
        public let problem: String
        public let optimizer: String
        /// Median µs per sample, training only.
        public let microseconds: Double
        /// This optimizer's time over SGD's on the same problem: the median of the ratios of
        /// chunks timed back to back (nil without an SGD row).
        public let relativeToSGD: Double?
    }

    /// Median µs per trained sample for each optimizer, on `architecture`, with inputs and
    /// targets from `data` (rows of n₀ + n_L), after `warmup` samples (past NGD's factor warm-up).
    /// The optimizers take turns, one timed chunk each per round, so that a change in the
    /// machine's speed hits all of them alike; the SGD ratio is taken round by round.
    public static func steps(
        problem: String, architecture: Architecture, specs: [(String, (Network) throws -> any Optimizer)],
        data: [Double], warmup: Int, chunk: Int, chunks: Int, progress: (String) -> Void = { _ in }
    ) throws -> [StepRow] {
        let n0 = architecture.inputSize
        let nL = architecture.outputSize
        let w = n0 + nL
        let count = data.count / w
        var x = [Double](repeating: 0, count: chunk * n0)
        var y = [Double](repeating: 0, count: chunk * nL)
        var next = [Int](repeating: 0, count: specs.count)
        func fill(_ o: Int) {
            for r in 0..<chunk {
                let s = next[o] % count
                next[o] += 1
                for i in 0..<n0 { x[r * n0 + i] = data[s * w + i] }
                for i in 0..<nL { y[r * nL + i] = data[s * w + n0 + i] }
            }
        }
        var optimizers: [any Optimizer] = []
        for (o, (label, make)) in specs.enumerated() {
            progress("steps: \(problem) \(label) (warm-up)")
            let opt = try make(Network(architecture: architecture, seed: 1))
            var done = 0
            while done < warmup {
                fill(o)
                _ = try opt.train(inputs: x, targets: y, count: chunk)
                done += chunk
            }
            optimizers.append(opt)
        }
        var times = [[Double]](repeating: [], count: specs.count)
        let clock = ContinuousClock()
        for round in 0..<chunks {
            progress("steps: \(problem) round \(round + 1)/\(chunks)")
            for (o, opt) in optimizers.enumerated() {
                fill(o)
                let t = try clock.measure { _ = try opt.train(inputs: x, targets: y, count: chunk) }
                times[o].append(
                    (Double(t.components.seconds) * 1e6 + Double(t.components.attoseconds) / 1e12) / Double(chunk))
            }
        }
        let sgd = specs.firstIndex { $0.0.hasPrefix("sgd") }
        return specs.indices.map { o in
            StepRow(
                problem: problem, optimizer: specs[o].0, microseconds: median(times[o]),
                relativeToSGD: sgd.map { s in median(zip(times[o], times[s]).map { $0 / $1 }) })
        }
    }

    public static func stepTable(_ rows: [StepRow]) -> String {
        var out = "Learning cost per sample (forward, backward, update), µs; median over chunks, optimizers in turn\n"
        out += "problem        optimizer                             µs/sample   ÷ SGD\n"
        for r in rows {
            out += row([
                .left(r.problem, 15), .left(r.optimizer, 36), .right(fmt(r.microseconds, digits: 1), 11),
                .right(r.relativeToSGD.map { String(format: "%.2f", $0) } ?? "—", 8),
            ])
        }
        out += "÷ SGD is the median of the ratios of chunks timed back to back.\n"
        return out
    }

    static func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }

    /// One line of a fixed-width table: each cell padded to its width, on the left (`.right`)
    /// or on the right (`.left`).
    static func row(_ cells: [Cell]) -> String {
        cells.map { cell in
            switch cell {
            case .left(let s, let width): s.padding(toLength: max(width, s.count), withPad: " ", startingAt: 0)
            case .right(let s, let width): pad(s, width)
            }
        }.joined() + "\n"
    }

    enum Cell {
        case left(String, Int)
        case right(String, Int)
    }
    static func fmt(_ v: Double, digits: Int = 0) -> String { String(format: "%.\(digits)f", v) }
}
