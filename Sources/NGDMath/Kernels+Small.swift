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
        for j in 0..<n { y[j] = 0 }
        var i = 0
        while i < n {
            let row = p + (i &* n)
            let vi = v[i]
            // Row i of the upper triangle contributes p_ij v_j to y_i (a dot product) and, by
            // symmetry, p_ij v_i to y_j for j > i (an axpy).
            var diag = row[i] * vi
            var s0 = 0.0, s1 = 0.0
            var j = i &+ 1
            while j &+ 1 < n {
                let a = row[j], b = row[j &+ 1]
                s0 += a * v[j]
                s1 += b * v[j &+ 1]
                y[j] += a * vi
                y[j &+ 1] += b * vi
                j &+= 2
            }
            if j < n {
                s0 += row[j] * v[j]
                y[j] += row[j] * vi
            }
            diag += s0 + s1
            y[i] += diag
            i &+= 1
        }
        if alpha != 1 { for j in 0..<n { y[j] *= alpha } }
    }

    /// `P += alpha · y yᵀ + beta · z zᵀ` on the upper triangle of a symmetric `n × n` matrix, in
    /// one pass. `beta == 0` makes it a rank-1 update (then `z` is not read).
    @inline(__always)
    public static func smallSymmetricRankTwoUpdate(
        n: Int, p: UnsafeMutablePointer<Double>,
        alpha: Double, y: UnsafePointer<Double>, beta: Double, z: UnsafePointer<Double>
    ) {
        var i = 0
        if beta == 0 {
            while i < n {
                let row = p + (i &* n)
                let a = alpha * y[i]
                var j = i
                while j < n { row[j] += a * y[j]; j &+= 1 }
                i &+= 1
            }
            return
        }
        while i < n {
            let row = p + (i &* n)
            let a = alpha * y[i], b = beta * z[i]
            var j = i
            while j < n { row[j] += a * y[j] + b * z[j]; j &+= 1 }
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
