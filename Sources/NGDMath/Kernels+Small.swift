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
    /// Two-lane SIMD for both the row's dot product and its mirrored axpy.
    @inline(__always)
    public static func smallSymmetricMultiply(
        n: Int, alpha: Double, p: UnsafePointer<Double>, v: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>
    ) {
        for j in 0..<n { y[j] = 0 }
        var i = 0
        while i < n {
            let row = p + (i &* n)
            let vi = v[i]
            let viv = SIMD2<Double>(repeating: vi)
            // Row i of the upper triangle contributes p_ij v_j to y_i (a dot product) and, by
            // symmetry, p_ij v_i to y_j for j > i (an axpy).
            var acc = SIMD2<Double>(repeating: 0)
            var j = i &+ 1
            while j &+ 2 <= n {
                let pr = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD2<Double>.self)
                acc += pr * UnsafeRawPointer(v + j).loadUnaligned(as: SIMD2<Double>.self)
                let yr = UnsafeMutableRawPointer(y + j)
                yr.storeBytes(of: yr.loadUnaligned(as: SIMD2<Double>.self) + pr * viv, as: SIMD2<Double>.self)
                j &+= 2
            }
            var tail = 0.0
            if j < n {
                tail = row[j] * v[j]
                y[j] += row[j] * vi
            }
            y[i] += row[i] * vi + (acc[0] + acc[1]) + tail
            i &+= 1
        }
        if alpha != 1 { for j in 0..<n { y[j] *= alpha } }
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
