/// Swift kernels for the per-sample factor update at small n, where OpenBLAS's level-2 calls
/// cost more in call and per-column overhead than in arithmetic (its `dsyr` makes one `daxpy`
/// call per column). `ngd bench speed` times them against the BLAS path; below
/// ``smallDimension`` they are faster. Offsets use `&+`/`&*` and updates are written in axpy
/// form so that LLVM vectorises the inner loops (PLATFORM-NOTES: checked indexing does not).
extension Kernels {
    /// The largest factor dimension that uses the Swift kernels instead of BLAS level 2.
    public static let smallDimension = 48

    /// `y = alpha · P v` for a symmetric `n × n` matrix stored row-major in its upper triangle.
    /// The same result as ``symmetricMultiply(k:n:alpha:p:v:ldv:u:ldu:)`` with `k == 1`.
    @inline(__always)
    public static func smallSymmetricMultiply(
        n: Int, alpha: Double, p: UnsafePointer<Double>, v: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>
    ) {
        smallSymmetricPass(n: n, p: p, v: v, y: y, second: nil, into: nil)
        if alpha != 1 { for j in 0..<n { y[j] *= alpha } }
    }

    /// `y = P v` and `t = P w` in one pass over P (upper triangle, row-major): the error
    /// factor's update needs P·ẽ for the sampled error and P·e for the true one.
    @inline(__always)
    public static func smallSymmetricMultiply(
        n: Int, p: UnsafePointer<Double>, v: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>,
        w: UnsafePointer<Double>, t: UnsafeMutablePointer<Double>
    ) {
        smallSymmetricPass(n: n, p: p, v: v, y: y, second: w, into: t)
    }

    /// Row i of the upper triangle contributes p_ij v_j to y_i (a dot product) and, by symmetry,
    /// p_ij v_i to y_j for j > i (an axpy). The axpy's two-lane loads and stores of y always start
    /// at an even index: with rows starting at i + 1, a pair that straddled the previous row's
    /// pair stores could not be forwarded from the store buffer, which made this loop 1.2–1.9×
    /// slower at n = 21–40.
    @inline(__always)
    static func smallSymmetricPass(
        n: Int, p: UnsafePointer<Double>, v: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>,
        second w: UnsafePointer<Double>?, into t: UnsafeMutablePointer<Double>?
    ) {
        for j in 0..<n { y[j] = 0 }
        if let t { for j in 0..<n { t[j] = 0 } }
        var i = 0
        while i < n {
            let row = p + (i &* n)
            let vi = v[i], wi = w?[i] ?? 0
            let viv = SIMD2<Double>(repeating: vi), wiv = SIMD2<Double>(repeating: wi)
            var acc = SIMD2<Double>(repeating: 0), acc2 = SIMD2<Double>(repeating: 0)
            var head = row[i] * vi, head2 = row[i] * wi
            var j = i &+ 1
            if j & 1 == 1, j < n {
                head += row[j] * v[j]
                y[j] += row[j] * vi
                if let w, let t { head2 += row[j] * w[j]; t[j] += row[j] * wi }
                j &+= 1
            }
            while j &+ 2 <= n {
                let pr = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD2<Double>.self)
                acc += pr * UnsafeRawPointer(v + j).loadUnaligned(as: SIMD2<Double>.self)
                let yr = UnsafeMutableRawPointer(y + j)
                yr.storeBytes(of: yr.loadUnaligned(as: SIMD2<Double>.self) + pr * viv, as: SIMD2<Double>.self)
                if let w, let t {
                    acc2 += pr * UnsafeRawPointer(w + j).loadUnaligned(as: SIMD2<Double>.self)
                    let tr = UnsafeMutableRawPointer(t + j)
                    tr.storeBytes(of: tr.loadUnaligned(as: SIMD2<Double>.self) + pr * wiv, as: SIMD2<Double>.self)
                }
                j &+= 2
            }
            if j < n {
                head += row[j] * v[j]
                y[j] += row[j] * vi
                if let w, let t { head2 += row[j] * w[j]; t[j] += row[j] * wi }
            }
            y[i] += head + (acc[0] + acc[1])
            if let t { t[i] += head2 + (acc2[0] + acc2[1]) }
            i &+= 1
        }
    }

    /// One pass over two symmetric matrices (upper triangles): `P += alpha·y yᵀ + beta·z zᵀ`
    /// and `C += gamma·v vᵀ`. The per-sample factor update at small n, where the loop overhead
    /// of a second pass costs as much as its arithmetic.
    @inline(__always)
    public static func smallFactorUpdate(
        n: Int, p: UnsafeMutablePointer<Double>, alpha: Double, y: UnsafePointer<Double>, beta: Double, z: UnsafePointer<Double>,
        c: UnsafeMutablePointer<Double>, gamma: Double, v: UnsafePointer<Double>
    ) {
        var i = 0
        while i < n {
            let prow = p + (i &* n), crow = c + (i &* n)
            let a = alpha * y[i], b = beta * z[i], g = gamma * v[i]
            let av = SIMD2<Double>(repeating: a), bv = SIMD2<Double>(repeating: b), gv = SIMD2<Double>(repeating: g)
            var j = i
            while j &+ 2 <= n {
                let pp = UnsafeMutableRawPointer(prow + j), cp = UnsafeMutableRawPointer(crow + j)
                let yj = UnsafeRawPointer(y + j).loadUnaligned(as: SIMD2<Double>.self)
                let zj = UnsafeRawPointer(z + j).loadUnaligned(as: SIMD2<Double>.self)
                let vj = UnsafeRawPointer(v + j).loadUnaligned(as: SIMD2<Double>.self)
                pp.storeBytes(of: pp.loadUnaligned(as: SIMD2<Double>.self) + (av * yj + bv * zj), as: SIMD2<Double>.self)
                cp.storeBytes(of: cp.loadUnaligned(as: SIMD2<Double>.self) + gv * vj, as: SIMD2<Double>.self)
                j &+= 2
            }
            if j < n {
                prow[j] += a * y[j] + b * z[j]
                crow[j] += g * v[j]
            }
            i &+= 1
        }
    }

    /// `y · v` for the small path, two accumulators.
    @inline(__always)
    static func smallDot(n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
        var s0 = 0.0, s1 = 0.0
        var j = 0
        while j &+ 1 < n { s0 += x[j] * y[j]; s1 += x[j &+ 1] * y[j &+ 1]; j &+= 2 }
        if j < n { s0 += x[j] * y[j] }
        return s0 + s1
    }
}
