#if canImport(Glibc)
import Glibc
#endif

extension Likelihood {
    /// Turns `k` rows of outputs x_L (`width` each, in place) into predictions: unchanged for a
    /// Gaussian, softmax probabilities for a categorical likelihood.
    @inline(__always) func predict(_ x: UnsafeMutablePointer<Double>, count k: Int, width: Int) {
        guard self == .categorical else { return }
        for r in 0..<k { Self.softmax(x + r * width, width) }
    }

    /// p = softmax(z) in place, shifted by max z so no exponential overflows.
    @inline(__always) static func softmax(_ z: UnsafeMutablePointer<Double>, _ n: Int) {
        var top = -Double.infinity
        for j in 0..<n { top = max(top, z[j]) }
        var sum = 0.0
        for j in 0..<n {
            z[j] = exp(z[j] - top)
            sum += z[j]
        }
        let inv = 1 / sum
        for j in 0..<n { z[j] *= inv }
    }

    /// The loss of one row: ½‖y − x‖² (Gaussian, before the 1/σ²) or −Σ y_j log p_j with
    /// p = softmax(x) computed from the logits `x` (categorical), stable for large logits.
    @inline(__always) static func loss(
        _ likelihood: Likelihood, outputs x: UnsafePointer<Double>, targets y: UnsafePointer<Double>, width n: Int
    ) -> Double {
        switch likelihood {
        case .gaussian:
            var s = 0.0
            for j in 0..<n {
                let d = y[j] - x[j]
                s += d * d
            }
            return 0.5 * s
        case .categorical:
            var top = -Double.infinity
            for j in 0..<n { top = max(top, x[j]) }
            var sum = 0.0
            for j in 0..<n { sum += exp(x[j] - top) }
            let logNormalizer = top + log(sum)
            var s = 0.0
            for j in 0..<n where y[j] != 0 { s -= y[j] * (x[j] - logNormalizer) }
            return s
        }
    }
}
