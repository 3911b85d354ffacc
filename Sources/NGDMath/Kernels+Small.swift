/// Swift kernels for the per-sample factor update at small n, where OpenBLAS's level-2 calls
/// cost more in call and per-column overhead than in arithmetic (its `dsyr` makes one `daxpy`
/// call per column). `ngd bench speed` times them against the BLAS path; below
/// ``smallDimension`` they are faster. Offsets use `&+`/`&*` and updates are written in axpy
/// form so that LLVM vectorises the inner loops (overflow-checked indexing stops it).
extension Kernels {
    /// The largest factor dimension that uses the Swift kernels instead of BLAS level 2.
    package static let smallDimension = 48

    /// `y = alpha · P v` for a symmetric `n × n` matrix stored row-major in its upper triangle.
    /// The same result as ``symmetricMultiply(k:n:alpha:p:v:ldv:u:ldu:)`` with `k == 1`.
    @inline(__always) package static func smallSymmetricMultiply(
        n: Int, alpha: Double, p: UnsafePointer<Double>, v: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>
    ) {
        smallSymmetricPass(n: n, p: p, v: v, y: y, second: nil, into: nil)
        if alpha != 1 { for j in 0..<n { y[j] *= alpha } }
    }

    /// `y = P v` and `t = P w` in one pass over P (upper triangle, row-major): the error
    /// factor's update needs P·ẽ for the sampled error and P·e for the true one.
    @inline(__always) package static func smallSymmetricMultiply(
        n: Int, p: UnsafePointer<Double>, v: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>,
        w: UnsafePointer<Double>, t: UnsafeMutablePointer<Double>
    ) { smallSymmetricPass(n: n, p: p, v: v, y: y, second: w, into: t) }

    /// Row i of the upper triangle contributes p_ij v_j to y_i (a dot product) and, by symmetry,
    /// p_ij v_i to y_j for j > i (an axpy). Rows are taken two at a time, so each y_j (and t_j) is
    /// loaded and stored once per two rows and each v_j (and w_j) loaded once (docs/performance.md
    /// compares it with one row at a time). The
    /// two-lane loads and stores of y start at an even index, so a pair never straddles the
    /// previous rows' pair stores (which the store buffer could not forward).
    @inline(__always) static func smallSymmetricPass(
        n: Int, p: UnsafePointer<Double>, v: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>,
        second w: UnsafePointer<Double>?, into t: UnsafeMutablePointer<Double>?
    ) {
        typealias D2 = SIMD2<Double>
        @inline(__always) func load(_ p: UnsafePointer<Double>) -> D2 { UnsafeRawPointer(p).loadUnaligned(as: D2.self) }
        @inline(__always) func add(_ p: UnsafeMutablePointer<Double>, _ x: D2) {
            UnsafeMutableRawPointer(p).storeBytes(of: load(p) + x, as: D2.self)
        }
        for j in 0..<n { y[j] = 0 }
        if let t { for j in 0..<n { t[j] = 0 } }
        var i = 0
        while i &+ 2 <= n {
            let r0 = p + (i &* n)
            let r1 = r0 + n
            let i1 = i &+ 1
            // The 2 × 2 diagonal block.
            let p00 = r0[i]
            let p01 = r0[i1]
            let p11 = r1[i1]
            let v0 = v[i]
            let v1 = v[i1]
            var s0 = p00 * v0 + p01 * v1
            var s1 = p01 * v0 + p11 * v1
            let v0v = D2(repeating: v0)
            let v1v = D2(repeating: v1)
            var a0 = D2(repeating: 0)
            var a1 = D2(repeating: 0)
            // The same for w, when there is one (the branches fold away where w is nil).
            let w0 = w?[i] ?? 0
            let w1 = w?[i1] ?? 0
            var q0 = p00 * w0 + p01 * w1
            var q1 = p01 * w0 + p11 * w1
            let w0v = D2(repeating: w0)
            let w1v = D2(repeating: w1)
            var b0 = D2(repeating: 0)
            var b1 = D2(repeating: 0)
            var j = i &+ 2
            while j &+ 2 <= n {
                let x0 = load(r0 + j)
                let x1 = load(r1 + j)
                let vj = load(v + j)
                a0 += x0 * vj
                a1 += x1 * vj
                add(y + j, x0 * v0v + x1 * v1v)
                if let w, let t {
                    let wj = load(w + j)
                    b0 += x0 * wj
                    b1 += x1 * wj
                    add(t + j, x0 * w0v + x1 * w1v)
                }
                j &+= 2
            }
            if j < n {
                let x0 = r0[j]
                let x1 = r1[j]
                s0 += x0 * v[j]
                s1 += x1 * v[j]
                y[j] += x0 * v0 + x1 * v1
                if let w, let t {
                    q0 += x0 * w[j]
                    q1 += x1 * w[j]
                    t[j] += x0 * w0 + x1 * w1
                }
            }
            y[i] += s0 + (a0[0] + a0[1])
            y[i1] += s1 + (a1[0] + a1[1])
            if let t {
                t[i] += q0 + (b0[0] + b0[1])
                t[i1] += q1 + (b1[0] + b1[1])
            }
            i &+= 2
        }
        if i < n {
            // The last row of an odd n holds only its diagonal.
            let d = p[i &* n &+ i]
            y[i] += d * v[i]
            if let w, let t { t[i] += d * w[i] }
        }
    }

    /// One pass over two symmetric matrices (upper triangles): `P += alpha·y yᵀ + beta·z zᵀ`
    /// and `C += gamma·v vᵀ`. The per-sample factor update at small n, where the loop overhead
    /// of a second pass costs as much as its arithmetic.
    @inline(__always) package static func smallFactorUpdate(
        n: Int, p: UnsafeMutablePointer<Double>, alpha: Double, y: UnsafePointer<Double>, beta: Double,
        z: UnsafePointer<Double>, c: UnsafeMutablePointer<Double>, gamma: Double, v: UnsafePointer<Double>
    ) {
        var i = 0
        while i < n {
            let prow = p + (i &* n)
            let crow = c + (i &* n)
            let a = alpha * y[i]
            let b = beta * z[i]
            let g = gamma * v[i]
            let av = SIMD2<Double>(repeating: a)
            let bv = SIMD2<Double>(repeating: b)
            let gv = SIMD2<Double>(repeating: g)
            var j = i
            while j &+ 2 <= n {
                let pp = UnsafeMutableRawPointer(prow + j)
                let cp = UnsafeMutableRawPointer(crow + j)
                let yj = UnsafeRawPointer(y + j).loadUnaligned(as: SIMD2<Double>.self)
                let zj = UnsafeRawPointer(z + j).loadUnaligned(as: SIMD2<Double>.self)
                let vj = UnsafeRawPointer(v + j).loadUnaligned(as: SIMD2<Double>.self)
                pp.storeBytes(
                    of: pp.loadUnaligned(as: SIMD2<Double>.self) + (av * yj + bv * zj), as: SIMD2<Double>.self)
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
    @inline(__always) static func smallDot(n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
        var s0 = 0.0
        var s1 = 0.0
        var j = 0
        while j &+ 1 < n {
            s0 += x[j] * y[j]
            s1 += x[j &+ 1] * y[j &+ 1]
            j &+= 2
        }
        if j < n { s0 += x[j] * y[j] }
        return s0 + s1
    }
}
