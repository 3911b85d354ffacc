import CBLAS

/// The dense linear-algebra kernels every hot path goes through.
///
/// Conventions, shared with ``ReferenceKernels`` (the naive loops each kernel is tested against):
/// - Matrices are row-major with an explicit leading dimension (`ld…`, elements between rows).
/// - A *block* is `k` samples stored one per row. With `k == 1` the kernels call BLAS level 2
///   (`gemv`, `symv`, `ger`, `syr`); with `k > 1`, level 3 (`gemm`, `symm`, `syrk`, `trsm`).
/// - A symmetric `n × n` matrix is stored full-size, row-major, and only its upper triangle
///   (`i <= j`) is read or written. The lower triangle is never read.
///
/// All functions are synchronous, allocate nothing, and may be called from any thread on
/// disjoint buffers. OpenBLAS is pinned to one thread the first time ngd allocates pass buffers
/// or an inverse-covariance estimator (see ``configureSingleThreaded()``): the per-sample sizes
/// here run slower with its thread pool than without it.
package enum Kernels {
    /// Pins OpenBLAS to one thread, once per process: at the matrix sizes of a per-sample update
    /// its default thread pool is slower, and its idle workers spin (docs/performance.md).
    package static func configureSingleThreaded() { _ = singleThreaded }

    private static let singleThreaded: Void = openblas_set_num_threads(1)

    /// `y = x · wᵀ + beta · y`: a block of inputs (`k × n`) through a weight matrix (`m × n`),
    /// giving `k × m`.
    @inline(__always) package static func multiplyTransposed(
        k: Int, m: Int, n: Int, x: UnsafePointer<Double>, ldx: Int, w: UnsafePointer<Double>, ldw: Int,
        beta: Double = 0, y: UnsafeMutablePointer<Double>, ldy: Int
    ) {
        if k == 1, m == 1 {
            // One dot product: cheaper inline than through the BLAS interface at these sizes.
            let d = smallDot(n: n, x, w)
            y[0] = beta == 0 ? d : d + beta * y[0]
        } else if k == 1 {
            cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(n), 1, w, Int32(ldw), x, 1, beta, y, 1)
        } else {
            cblas_dgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(k), Int32(m), Int32(n), 1, x, Int32(ldx), w, Int32(ldw),
                beta, y, Int32(ldy))
        }
    }

    /// `y = alpha · e · w + beta · y`: a block of errors (`k × m`) back through a weight matrix
    /// (`m × n`, the first `n` columns of rows with stride `ldw`), giving `k × n`.
    @inline(__always) package static func multiply(
        k: Int, m: Int, n: Int, alpha: Double = 1, e: UnsafePointer<Double>, lde: Int, w: UnsafePointer<Double>,
        ldw: Int, beta: Double = 0, y: UnsafeMutablePointer<Double>, ldy: Int
    ) {
        if k == 1, m == 1 {
            // One scaled vector: y = (alpha·e₀)·w + beta·y, inline.
            let a = alpha * e[0]
            if beta == 0 {
                for j in 0..<n { y[j] = a * w[j] }
            } else {
                for j in 0..<n { y[j] = a * w[j] + beta * y[j] }
            }
        } else if k == 1 {
            cblas_dgemv(CblasRowMajor, CblasTrans, Int32(m), Int32(n), alpha, w, Int32(ldw), e, 1, beta, y, 1)
        } else {
            cblas_dgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(k), Int32(n), Int32(m), alpha, e, Int32(lde), w,
                Int32(ldw), beta, y, Int32(ldy))
        }
    }

    /// `w += alpha · uᵀ · v`: the sum of the `k` outer products `u_j v_jᵀ` (`u` is `k × m`,
    /// `v` is `k × n`), added to an `m × n` matrix.
    @inline(__always) package static func addOuterProducts(
        k: Int, m: Int, n: Int, alpha: Double, u: UnsafePointer<Double>, ldu: Int, v: UnsafePointer<Double>, ldv: Int,
        w: UnsafeMutablePointer<Double>, ldw: Int
    ) {
        if k == 1 {
            cblas_dger(CblasRowMajor, Int32(m), Int32(n), alpha, u, 1, v, 1, w, Int32(ldw))
        } else {
            cblas_dgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha, u, Int32(ldu), v,
                Int32(ldv), 1, w, Int32(ldw))
        }
    }

    /// `u = alpha · v · p` for a symmetric `p` (`n × n`, upper triangle): each of the `k` rows of
    /// `v` multiplied by `p`.
    @inline(__always) package static func symmetricMultiply(
        k: Int, n: Int, alpha: Double, p: UnsafePointer<Double>, v: UnsafePointer<Double>, ldv: Int,
        u: UnsafeMutablePointer<Double>, ldu: Int
    ) {
        if k == 1 {
            cblas_dsymv(CblasRowMajor, CblasUpper, Int32(n), alpha, p, Int32(n), v, 1, 0, u, 1)
        } else {
            cblas_dsymm(
                CblasRowMajor, CblasRight, CblasUpper, Int32(k), Int32(n), alpha, p, Int32(n), v, Int32(ldv), 0, u,
                Int32(ldu))
        }
    }

    /// `p += alpha · vᵀ · v` on the upper triangle of a symmetric `n × n` matrix: the sum of the
    /// `k` outer products `v_j v_jᵀ`.
    @inline(__always) package static func symmetricRankUpdate(
        k: Int, n: Int, alpha: Double, v: UnsafePointer<Double>, ldv: Int, p: UnsafeMutablePointer<Double>
    ) {
        if k == 1 {
            cblas_dsyr(CblasRowMajor, CblasUpper, Int32(n), alpha, v, 1, p, Int32(n))
        } else {
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(k), alpha, v, Int32(ldv), 1, p, Int32(n))
        }
    }

    /// Cholesky factorisation `a = L Lᵀ` of a symmetric positive definite `n × n` matrix
    /// (row-major; only the lower triangle is read), writing L over the lower triangle
    /// (LAPACK `dpotrf`). The upper triangle above the diagonal is left as it was.
    /// Returns false, with `a` partly overwritten, when a pivot is not positive and finite.
    @inline(__always) package static func cholesky(n: Int, _ a: UnsafeMutablePointer<Double>) -> Bool {
        // Column-major LAPACK sees the transpose: its upper triangle is our lower one, and its
        // A = UᵀU is our A = L Lᵀ with L = Uᵀ.
        guard lapack(dpotrf_, triangle: "U", n: n, a) else { return false }
        // OpenBLAS tests pivots with `<= 0`, which NaN passes.
        for i in 0..<n where !(a[i &* n &+ i] > 0 && a[i &* n &+ i].isFinite) { return false }
        return true
    }

    /// A LAPACK routine of the `dpotrf` family on one triangle (`"U"` or `"L"`, column-major) of
    /// the `n × n` matrix `a`: true when it reported success (`info` = 0).
    @inline(__always) private static func lapack(
        _ routine: (
            UnsafePointer<CChar>?, UnsafePointer<Int32>?, UnsafeMutablePointer<Double>?, UnsafePointer<Int32>?,
            UnsafeMutablePointer<Int32>?
        ) -> Int32,
        triangle: Unicode.Scalar, n: Int, _ a: UnsafeMutablePointer<Double>
    ) -> Bool {
        var uplo = CChar(UInt8(ascii: triangle))
        var size = Int32(n)
        var lda = Int32(n)
        var info: Int32 = 0
        _ = routine(&uplo, &size, a, &lda, &info)
        return info == 0
    }

    /// Solves `l · z = b` in place for a lower-triangular `l` (`k × k`), where `b` is `k × n`.
    @inline(__always) package static func solveLowerTriangular(
        k: Int, n: Int, l: UnsafePointer<Double>, b: UnsafeMutablePointer<Double>, ldb: Int
    ) {
        cblas_dtrsm(
            CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, Int32(k), Int32(n), 1, l, Int32(k), b,
            Int32(ldb))
    }

    /// The dot product of two contiguous vectors of length `n`.
    @inline(__always) package static func dot(n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double
    { cblas_ddot(Int32(n), x, 1, y, 1) }

    /// `x *= alpha` for a contiguous vector of length `n`.
    @inline(__always) package static func scale(n: Int, alpha: Double, _ x: UnsafeMutablePointer<Double>) {
        cblas_dscal(Int32(n), alpha, x, 1)
    }

    /// Replaces the upper triangle of a symmetric positive-definite `n × n` matrix with the upper
    /// triangle of its inverse, by Cholesky factorisation (LAPACK `dpotrf` + `dpotri`).
    ///
    /// - Returns: `false`, with the matrix overwritten, when it is not numerically positive
    ///   definite or holds a non-finite value.
    package static func invertPositiveDefinite(n: Int, _ a: UnsafeMutablePointer<Double>) -> Bool {
        // LAPACK is column-major: our row-major upper triangle is its lower triangle.
        guard lapack(dpotrf_, triangle: "L", n: n, a), lapack(dpotri_, triangle: "L", n: n, a) else { return false }
        // OpenBLAS's dpotrf tests pivots with `<= 0`, which NaN passes: check the result.
        for i in 0..<n {
            if !(a[i * n + i] > 0) || !a[i * n + i].isFinite { return false }
            for j in (i + 1)..<max(n, i + 1) where !a[i * n + j].isFinite { return false }
        }
        return true
    }
}
