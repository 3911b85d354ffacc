import Testing

@testable import NGDMath

/// Every BLAS-backed kernel against its naive reference, at level 2 (k = 1) and level 3
/// (k > 1), with leading dimensions larger than the row length.
@Suite struct KernelsTests {
    init() { Kernels.configureSingleThreaded() }

    // Level 2 (k = 1) at small and larger sizes, level 3 (k > 1).
    static let shapes: [(k: Int, m: Int, n: Int)] = [
        (1, 1, 1), (1, 7, 5), (1, 21, 21), (1, 60, 50), (3, 5, 9), (16, 33, 20), (5, 101, 64),
    ]

    @Test(arguments: shapes) func multiplyTransposed(shape: (k: Int, m: Int, n: Int)) {
        let (k, m, n) = shape
        let ldx = n + 2
        let ldw = n + 1
        let ldy = m + 3
        let x = gaussianArray(k * ldx, seed: 1)
        let w = gaussianArray(m * ldw, seed: 2)
        for beta in [0.0, 0.5] {
            var fast = gaussianArray(k * ldy, seed: 3)
            var slow = fast
            Kernels.multiplyTransposed(k: k, m: m, n: n, x: x, ldx: ldx, w: w, ldw: ldw, beta: beta, y: &fast, ldy: ldy)
            ReferenceKernels.multiplyTransposed(
                k: k, m: m, n: n, x: x, ldx: ldx, w: w, ldw: ldw, beta: beta, y: &slow, ldy: ldy)
            if k == 1 {  // gemv writes contiguously; compare the row it wrote
                #expect(relativeError(Array(fast[0..<m]), Array(slow[0..<m])) < 1e-13)
            } else {
                #expect(relativeError(fast, slow) < 1e-13)
            }
        }
    }

    @Test(arguments: shapes) func multiply(shape: (k: Int, m: Int, n: Int)) {
        let (k, m, n) = shape
        let lde = m + 1
        let ldw = n + 2
        let ldy = k == 1 ? n : n + 1
        let e = gaussianArray(k * lde, seed: 4)
        let w = gaussianArray(m * ldw, seed: 5)
        for (alpha, beta) in [(1.0, 0.0), (-0.3, 1.0)] {
            var fast = gaussianArray(k * ldy, seed: 6)
            var slow = fast
            Kernels.multiply(
                k: k, m: m, n: n, alpha: alpha, e: e, lde: lde, w: w, ldw: ldw, beta: beta, y: &fast, ldy: ldy)
            ReferenceKernels.multiply(
                k: k, m: m, n: n, alpha: alpha, e: e, lde: lde, w: w, ldw: ldw, beta: beta, y: &slow, ldy: ldy)
            #expect(relativeError(fast, slow) < 1e-13)
        }
    }

    @Test(arguments: shapes) func addOuterProducts(shape: (k: Int, m: Int, n: Int)) {
        let (k, m, n) = shape
        let ldu = k == 1 ? m : m + 1
        let ldv = k == 1 ? n : n + 2
        let ldw = n + 1
        let u = gaussianArray(k * ldu, seed: 7)
        let v = gaussianArray(k * ldv, seed: 8)
        var fast = gaussianArray(m * ldw, seed: 9)
        var slow = fast
        Kernels.addOuterProducts(k: k, m: m, n: n, alpha: 0.7, u: u, ldu: ldu, v: v, ldv: ldv, w: &fast, ldw: ldw)
        ReferenceKernels.addOuterProducts(
            k: k, m: m, n: n, alpha: 0.7, u: u, ldu: ldu, v: v, ldv: ldv, w: &slow, ldw: ldw)
        #expect(relativeError(fast, slow) < 1e-13)
    }

    @Test(arguments: shapes) func symmetricMultiplyReadsOnlyTheUpperTriangle(shape: (k: Int, m: Int, n: Int)) {
        let (k, _, n) = shape
        var p = gaussianArray(n * n, seed: 10)
        // Garbage below the diagonal: a kernel that reads it disagrees with the reference.
        for i in 0..<n { for j in 0..<i { p[i * n + j] = 1e6 * Double(i + j + 1) } }
        let ldv = k == 1 ? n : n + 3
        let v = gaussianArray(k * ldv, seed: 11)
        var fast = [Double](repeating: 0, count: k * n)
        var slow = fast
        Kernels.symmetricMultiply(k: k, n: n, alpha: 1.5, p: p, v: v, ldv: ldv, u: &fast, ldu: n)
        ReferenceKernels.symmetricMultiply(k: k, n: n, alpha: 1.5, p: p, v: v, ldv: ldv, u: &slow, ldu: n)
        #expect(relativeError(fast, slow) < 1e-13)
    }

    @Test(arguments: shapes) func symmetricRankUpdateWritesOnlyTheUpperTriangle(shape: (k: Int, m: Int, n: Int)) {
        let (k, _, n) = shape
        let ldv = k == 1 ? n : n + 2
        let v = gaussianArray(k * ldv, seed: 12)
        var fast = gaussianArray(n * n, seed: 13)
        var slow = fast
        Kernels.symmetricRankUpdate(k: k, n: n, alpha: -0.4, v: v, ldv: ldv, p: &fast)
        ReferenceKernels.symmetricRankUpdate(k: k, n: n, alpha: -0.4, v: v, ldv: ldv, p: &slow)
        #expect(relativeError(fast, slow) < 1e-13)  // includes the untouched lower triangle
    }

    @Test(arguments: [(1, 4), (3, 7), (16, 50), (32, 5)]) func solveLowerTriangular(k: Int, n: Int) {
        var l = gaussianArray(k * k, seed: 14)
        for i in 0..<k {
            for j in (i + 1)..<max(k, i + 1) { l[i * k + j] = 99 }  // never read
            l[i * k + i] = 2 + abs(l[i * k + i])
        }
        let ldb = n + 1
        var fast = gaussianArray(k * ldb, seed: 15)
        var slow = fast
        Kernels.solveLowerTriangular(k: k, n: n, l: l, b: &fast, ldb: ldb)
        ReferenceKernels.solveLowerTriangular(k: k, n: n, l: l, b: &slow, ldb: ldb)
        #expect(relativeError(fast, slow) < 1e-12)
    }

    @Test func dotAndScale() {
        let x = gaussianArray(137, seed: 16)
        let y = gaussianArray(137, seed: 17)
        for n in [1, 2, 37, 48, 49, 137] {
            #expect(abs(Kernels.dot(n: n, x, y) - ReferenceKernels.dot(n: n, x, y)) < 1e-12)
        }
        var z = y
        Kernels.scale(n: 137, alpha: 0.25, &z)
        #expect(z == y.map { 0.25 * $0 })  // a power of two: exact
    }

    @Test(arguments: [1, 2, 9, 40]) func invertPositiveDefinite(n: Int) {
        // A = B Bᵀ + n I is symmetric positive definite.
        let b = gaussianArray(n * n, seed: 18)
        var a = Dense.multiply(b, Dense.transpose(b, n, n), n, n, n)
        for i in 0..<n { a[i * n + i] += Double(n) }
        var fast = a
        var slow = a
        #expect(Kernels.invertPositiveDefinite(n: n, &fast))
        #expect(ReferenceKernels.invertPositiveDefinite(n: n, &slow))
        let direct = Dense.inverse(a, n)
        for i in 0..<n {
            for j in i..<n {
                #expect(abs(fast[i * n + j] - direct[i * n + j]) < 1e-12)
                #expect(abs(slow[i * n + j] - direct[i * n + j]) < 1e-12)
            }
        }
    }

    /// LAPACK's Cholesky against the textbook loop, on the lower triangle only (NaN above the
    /// diagonal is never read), at the Woodbury sizes 2k = 8, 32, 128.
    @Test(arguments: [1, 8, 32, 128]) func choleskyMatchesTheReference(n: Int) {
        let b = gaussianArray(n * n, seed: 34)
        var a = [Double](repeating: .nan, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = i == j ? Double(n) : 0
                for k in 0..<n { s += b[i * n + k] * b[j * n + k] }
                a[i * n + j] = s
            }
        }
        var fast = a
        var slow = a
        #expect(Kernels.cholesky(n: n, &fast) && ReferenceKernels.cholesky(n: n, &slow))
        var worst = 0.0
        var largest = 0.0
        for i in 0..<n {
            for j in 0...i {
                worst = max(worst, abs(fast[i * n + j] - slow[i * n + j]))
                largest = max(largest, abs(slow[i * n + j]))
            }
            for j in (i + 1)..<n { #expect(fast[i * n + j].isNaN) }  // above the diagonal: untouched
        }
        #expect(worst < 1e-12 * largest)
        var indefinite = [1.0, .nan, 2.0, 1.0]
        var nan = [Double.nan, .nan, 0, 1.0]
        #expect(!Kernels.cholesky(n: 2, &indefinite) && !Kernels.cholesky(n: 2, &nan))
    }

    @Test func invertPositiveDefiniteRejectsAnIndefiniteMatrix() {
        var a = [1.0, 2.0, 2.0, 1.0]  // eigenvalues 3 and −1
        var b = a
        #expect(!Kernels.invertPositiveDefinite(n: 2, &a))
        #expect(!ReferenceKernels.invertPositiveDefinite(n: 2, &b))
    }
}

/// The small-n Swift kernels against the naive references.
@Suite struct SmallKernelTests {
    @Test(arguments: [1, 2, 3, 4, 12, 21, 48]) func smallSymmetricMultiplyMatchesTheReference(n: Int) {
        var p = gaussianArray(n * n, seed: 20)
        for i in 0..<n { for j in 0..<i { p[i * n + j] = 1e6 } }  // garbage below the diagonal
        let v = gaussianArray(n, seed: 21)
        var fast = [Double](repeating: 7, count: n)
        var slow = fast
        Kernels.smallSymmetricMultiply(n: n, alpha: 0.5, p: p, v: v, y: &fast)
        ReferenceKernels.symmetricMultiply(k: 1, n: n, alpha: 0.5, p: p, v: v, ldv: n, u: &slow, ldu: n)
        #expect(relativeError(fast, slow) < 1e-13)
    }

    /// The two-vector pass (P·v and P·w together) against two reference products.
    @Test(arguments: [1, 2, 3, 4, 12, 21, 48]) func smallSymmetricMultiplyOfTwoVectorsMatchesTheReference(n: Int) {
        var p = gaussianArray(n * n, seed: 22)
        for i in 0..<n { for j in 0..<i { p[i * n + j] = .nan } }  // never read
        let v = gaussianArray(n, seed: 23)
        let w = gaussianArray(n, seed: 24)
        var y = [Double](repeating: 7, count: n)
        var t = y
        var yRef = y
        var tRef = y
        Kernels.smallSymmetricMultiply(n: n, p: p, v: v, y: &y, w: w, t: &t)
        ReferenceKernels.symmetricMultiply(k: 1, n: n, alpha: 1, p: p, v: v, ldv: n, u: &yRef, ldu: n)
        ReferenceKernels.symmetricMultiply(k: 1, n: n, alpha: 1, p: p, v: w, ldv: n, u: &tRef, ldu: n)
        #expect(relativeError(y, yRef) < 1e-13 && relativeError(t, tRef) < 1e-13)
    }

    /// The degenerate shapes that skip BLAS (one dot product, one scaled vector) against the
    /// references, with and without beta.
    @Test(arguments: [0.0, 0.5]) func oneRowProductsMatchTheReference(beta: Double) {
        let n = 21
        let x = gaussianArray(n, seed: 31)
        let w = gaussianArray(n, seed: 32)
        var dot = [3.0]
        var dotRef = [3.0]
        Kernels.multiplyTransposed(k: 1, m: 1, n: n, x: x, ldx: n, w: w, ldw: n, beta: beta, y: &dot, ldy: 1)
        ReferenceKernels.multiplyTransposed(
            k: 1, m: 1, n: n, x: x, ldx: n, w: w, ldw: n, beta: beta, y: &dotRef, ldy: 1)
        #expect(abs(dot[0] - dotRef[0]) < 1e-13 * abs(dotRef[0]))
        var axpy = gaussianArray(n, seed: 33)
        var axpyRef = axpy
        Kernels.multiply(k: 1, m: 1, n: n, alpha: 0.7, e: [1.3], lde: 1, w: w, ldw: n, beta: beta, y: &axpy, ldy: n)
        ReferenceKernels.multiply(
            k: 1, m: 1, n: n, alpha: 0.7, e: [1.3], lde: 1, w: w, ldw: n, beta: beta, y: &axpyRef, ldy: n)
        #expect(relativeError(axpy, axpyRef) < 1e-14)
    }

    @Test(arguments: [1, 2, 5, 20, 21, 48]) func smallFactorUpdateMatchesThreeReferenceRankOneUpdates(n: Int) {
        let y = gaussianArray(n, seed: 26)
        let z = gaussianArray(n, seed: 27)
        let v = gaussianArray(n, seed: 28)
        var p = gaussianArray(n * n, seed: 29)
        var c = gaussianArray(n * n, seed: 30)
        var pRef = p
        var cRef = c
        Kernels.smallFactorUpdate(n: n, p: &p, alpha: -0.3, y: y, beta: 0.7, z: z, c: &c, gamma: 1.1, v: v)
        ReferenceKernels.symmetricRankUpdate(k: 1, n: n, alpha: -0.3, v: y, ldv: n, p: &pRef)
        ReferenceKernels.symmetricRankUpdate(k: 1, n: n, alpha: 0.7, v: z, ldv: n, p: &pRef)
        ReferenceKernels.symmetricRankUpdate(k: 1, n: n, alpha: 1.1, v: v, ldv: n, p: &cRef)
        #expect(relativeError(p, pRef) < 1e-13 && relativeError(c, cRef) < 1e-13)
    }
}
