import Testing

@testable import NGDMath

/// Random test data.
func gaussianArray(_ count: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var r = RandomSource(seed: seed)
    return (0..<count).map { _ in scale * r.nextGaussian() }
}

/// max |a − b| / max(1, max |b|).
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0
    var scale = 0.0
    for i in 0..<a.count {
        worst = max(worst, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return worst / max(scale, 1e-300)
}

/// ‖a − b‖_F / ‖b‖_F.
func frobeniusRelativeError(_ a: [Double], _ b: [Double]) -> Double {
    var num = 0.0
    var den = 0.0
    for i in 0..<a.count {
        num += (a[i] - b[i]) * (a[i] - b[i])
        den += b[i] * b[i]
    }
    return (num / den).squareRoot()
}

/// Naive dense matrix helpers for the tests' own expectations (row-major).
enum Dense {
    static func multiply(_ a: [Double], _ b: [Double], _ m: Int, _ k: Int, _ n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for l in 0..<k {
                let x = a[i * k + l]
                for j in 0..<n { c[i * n + j] += x * b[l * n + j] }
            }
        }
        return c
    }

    static func transpose(_ a: [Double], _ m: Int, _ n: Int) -> [Double] {
        var t = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { t[j * m + i] = a[i * n + j] } }
        return t
    }

    static func identity(_ n: Int) -> [Double] {
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { a[i * n + i] = 1 }
        return a
    }

    /// Inverse of a general square matrix by Gauss–Jordan with partial pivoting.
    static func inverse(_ a: [Double], _ n: Int) -> [Double] {
        var m = a
        var inv = identity(n)
        for c in 0..<n {
            var p = c
            for r in c..<n where abs(m[r * n + c]) > abs(m[p * n + c]) { p = r }
            if p != c {
                for j in 0..<n {
                    m.swapAt(c * n + j, p * n + j)
                    inv.swapAt(c * n + j, p * n + j)
                }
            }
            let d = m[c * n + c]
            for j in 0..<n {
                m[c * n + j] /= d
                inv[c * n + j] /= d
            }
            for r in 0..<n where r != c {
                let f = m[r * n + c]
                if f == 0 { continue }
                for j in 0..<n {
                    m[r * n + j] -= f * m[c * n + j]
                    inv[r * n + j] -= f * inv[c * n + j]
                }
            }
        }
        return inv
    }

    static func add(_ a: [Double], _ b: [Double], _ s: Double = 1) -> [Double] { zip(a, b).map { $0 + s * $1 } }
}
