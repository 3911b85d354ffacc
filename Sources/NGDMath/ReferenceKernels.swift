/// Naive loop implementations of every operation in ``Kernels``, with the same signatures and
/// the same storage conventions. They exist to be obviously right: tests compare each BLAS kernel
/// against its reference here, and benchmarks can use them as the naive baseline.
///
/// A symmetric matrix is read only from its upper triangle here too, so a kernel that touched
/// the lower triangle by mistake disagrees with its reference.
package enum ReferenceKernels {
    /// See ``Kernels/multiplyTransposed(k:m:n:x:ldx:w:ldw:beta:y:ldy:)``.
    package static func multiplyTransposed(
        k: Int, m: Int, n: Int, x: UnsafePointer<Double>, ldx: Int, w: UnsafePointer<Double>, ldw: Int,
        beta: Double = 0, y: UnsafeMutablePointer<Double>, ldy: Int
    ) {
        for r in 0..<k {
            for i in 0..<m {
                var s = 0.0
                for j in 0..<n { s += x[r * ldx + j] * w[i * ldw + j] }
                y[r * ldy + i] = (beta == 0 ? 0 : beta * y[r * ldy + i]) + s
            }
        }
    }

    /// See ``Kernels/multiply(k:m:n:alpha:e:lde:w:ldw:beta:y:ldy:)``.
    package static func multiply(
        k: Int, m: Int, n: Int, alpha: Double = 1, e: UnsafePointer<Double>, lde: Int, w: UnsafePointer<Double>,
        ldw: Int, beta: Double = 0, y: UnsafeMutablePointer<Double>, ldy: Int
    ) {
        for r in 0..<k {
            for j in 0..<n {
                var s = 0.0
                for i in 0..<m { s += e[r * lde + i] * w[i * ldw + j] }
                y[r * ldy + j] = (beta == 0 ? 0 : beta * y[r * ldy + j]) + alpha * s
            }
        }
    }

    /// See ``Kernels/addOuterProducts(k:m:n:alpha:u:ldu:v:ldv:w:ldw:)``.
    package static func addOuterProducts(
        k: Int, m: Int, n: Int, alpha: Double, u: UnsafePointer<Double>, ldu: Int, v: UnsafePointer<Double>, ldv: Int,
        w: UnsafeMutablePointer<Double>, ldw: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for r in 0..<k { s += u[r * ldu + i] * v[r * ldv + j] }
                w[i * ldw + j] += alpha * s
            }
        }
    }

    /// The element `(i, j)` of a symmetric matrix stored in its upper triangle.
    @inline(__always) package static func symmetricElement(
        _ p: UnsafePointer<Double>, n: Int, _ i: Int, _ j: Int
    ) -> Double { i <= j ? p[i * n + j] : p[j * n + i] }

    /// See ``Kernels/symmetricMultiply(k:n:alpha:p:v:ldv:u:ldu:)``.
    package static func symmetricMultiply(
        k: Int, n: Int, alpha: Double, p: UnsafePointer<Double>, v: UnsafePointer<Double>, ldv: Int,
        u: UnsafeMutablePointer<Double>, ldu: Int
    ) {
        for r in 0..<k {
            for j in 0..<n {
                var s = 0.0
                for i in 0..<n { s += v[r * ldv + i] * symmetricElement(p, n: n, i, j) }
                u[r * ldu + j] = alpha * s
            }
        }
    }

    /// See ``Kernels/symmetricRankUpdate(k:n:alpha:v:ldv:p:)``.
    package static func symmetricRankUpdate(
        k: Int, n: Int, alpha: Double, v: UnsafePointer<Double>, ldv: Int, p: UnsafeMutablePointer<Double>
    ) {
        for i in 0..<n {
            for j in i..<n {
                var s = 0.0
                for r in 0..<k { s += v[r * ldv + i] * v[r * ldv + j] }
                p[i * n + j] += alpha * s
            }
        }
    }

    /// See ``Kernels/solveLowerTriangular(k:n:l:b:ldb:)``.
    package static func solveLowerTriangular(
        k: Int, n: Int, l: UnsafePointer<Double>, b: UnsafeMutablePointer<Double>, ldb: Int
    ) {
        for c in 0..<n {
            for i in 0..<k {
                var s = b[i * ldb + c]
                for j in 0..<i { s -= l[i * k + j] * b[j * ldb + c] }
                b[i * ldb + c] = s / l[i * k + i]
            }
        }
    }

    /// See ``Kernels/dot(n:_:_:)``.
    package static func dot(n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
        var s = 0.0
        for i in 0..<n { s += x[i] * y[i] }
        return s
    }

    /// See ``Kernels/cholesky(n:_:)``: the textbook column-by-column Cholesky–Banachiewicz loop.
    package static func cholesky(n: Int, _ a: UnsafeMutablePointer<Double>) -> Bool {
        for j in 0..<n {
            var d = a[j * n + j]
            for k in 0..<j { d -= a[j * n + k] * a[j * n + k] }
            guard d.isFinite, d > 0 else { return false }
            let l = d.squareRoot()
            a[j * n + j] = l
            for i in (j + 1)..<max(n, j + 1) {
                var s = a[i * n + j]
                for k in 0..<j { s -= a[i * n + k] * a[j * n + k] }
                a[i * n + j] = s / l
            }
        }
        return true
    }

    /// See ``Kernels/invertPositiveDefinite(n:_:)``: Gauss–Jordan elimination on the full
    /// symmetric matrix, without pivoting (safe for a positive-definite matrix).
    package static func invertPositiveDefinite(n: Int, _ a: UnsafeMutablePointer<Double>) -> Bool {
        var m = [Double](repeating: 0, count: n * 2 * n)
        for i in 0..<n {
            for j in 0..<n { m[i * 2 * n + j] = symmetricElement(a, n: n, i, j) }
            m[i * 2 * n + n + i] = 1
        }
        for c in 0..<n {
            let pivot = m[c * 2 * n + c]
            if !(pivot > 0) { return false }
            for j in 0..<(2 * n) { m[c * 2 * n + j] /= pivot }
            for r in 0..<n where r != c {
                let f = m[r * 2 * n + c]
                if f == 0 { continue }
                for j in 0..<(2 * n) { m[r * 2 * n + j] -= f * m[c * 2 * n + j] }
            }
        }
        for i in 0..<n { for j in i..<n { a[i * n + j] = m[i * 2 * n + n + j] } }
        return true
    }
}
