/// Running per-feature mean and variance of a network's inputs, which standardize each input
/// before the first layer: z_j = (x_j − μ_j)/σ_j.
///
/// Features of any scale and offset (a price in the thousands, a date in days, a 0/1 flag) then
/// reach the first layer with comparable, unit-order values, so the initial weights, tanh
/// units and the relative damping of the Fisher factors mean the same for every feature. The
/// statistics start at μ = the first input and σ² = 1 (one pseudo-sample of unit variance) and
/// are then exact running averages (Welford): σ² → the feature's variance.
///
/// A network without biases cannot absorb a shift of its inputs, so for one the standardizer
/// only scales (`centers` false): μ stays 0 and σ² is the running mean of x² about 0, from the
/// same one pseudo-sample of 1.
///
/// Thread safety: none; it belongs to its network.
package final class InputStandardizer {
    let width: Int
    /// Whether the inputs are centred (z = (x − μ)/σ) or only scaled (z = x/σ).
    let centers: Bool
    private(set) var count = 0
    let mean: DoubleBuffer
    let variance: DoubleBuffer
    /// 1/σ_j, kept in step with `variance`.
    let inverseDeviation: DoubleBuffer
    /// μ and σ² (2·width values) and the count before the last observation.
    private let saved: DoubleBuffer
    private var savedCount = 0

    init(width: Int, centers: Bool = true) {
        self.width = width
        self.centers = centers
        mean = DoubleBuffer(count: width)
        variance = DoubleBuffer(count: width, repeating: 1)
        inverseDeviation = DoubleBuffer(count: width, repeating: 1)
        saved = DoubleBuffer(count: 2 * width)
    }

    /// Restores saved statistics.
    /// - Throws: ``MathError/invalidState(_:)`` for wrong sizes, a negative count, or a
    ///   non-finite or negative value.
    init(width: Int, centers: Bool = true, count: Int, mean: [Double], variance: [Double]) throws {
        guard count >= 0, mean.count == width, variance.count == width,
            mean.allSatisfy({ $0.isFinite && (centers || $0 == 0) }), variance.allSatisfy({ $0.isFinite && $0 >= 0 })
        else { throw MathError.invalidState("the input statistics do not fit \(width) inputs") }
        self.width = width
        self.centers = centers
        self.count = count
        self.mean = DoubleBuffer(mean)
        self.variance = DoubleBuffer(variance)
        inverseDeviation = DoubleBuffer(count: width)
        saved = DoubleBuffer(count: 2 * width)
        refresh()
    }

    /// The smallest variance used, so a constant feature standardizes to 0, not to ±∞.
    static let varianceFloor = 1e-12

    private func refresh() {
        for j in 0..<width { inverseDeviation[j] = 1 / max(variance[j], Self.varianceFloor).squareRoot() }
    }

    /// Restores the statistics from before the last ``observe(_:count:stride:)``.
    func undoLastObservation() {
        count = savedCount
        mean.base.update(from: saved.base, count: width)
        variance.base.update(from: saved.base + width, count: width)
        refresh()
    }

    /// Folds `k` inputs (row stride `ld`) into the statistics and returns true;
    /// ``undoLastObservation()`` takes them out again. When a mean or variance would not be
    /// finite, the statistics stay as they were and it returns false.
    @discardableResult func observe(_ x: UnsafePointer<Double>, count k: Int, stride ld: Int) -> Bool {
        let m = mean.base
        let v = variance.base
        savedCount = count
        saved.base.update(from: m, count: width)
        (saved.base + width).update(from: v, count: width)
        for r in 0..<k {
            count += 1
            for j in 0..<width { fold(x[r * ld + j], mean: &m[j], variance: &v[j], count: Double(count)) }
        }
        for j in 0..<width where !(m[j].isFinite && v[j].isFinite) {
            undoLastObservation()
            return false
        }
        refresh()
        return true
    }

    /// One value of a feature folded into its mean and variance; `n` counts the inputs seen,
    /// this one included. Centring: the first sets the mean, then Welford's update. Scaling
    /// only: the running mean of x² from one pseudo-sample of 1.
    @inline(__always) private func fold(_ x: Double, mean m: inout Double, variance v: inout Double, count n: Double) {
        guard centers else {
            v += (x * x - v) / (n + 1)
            return
        }
        if n == 1 {
            m = x
            return
        }
        let d = x - m
        m += d / n
        v += (d * (x - m) - v) / n
    }

    /// Writes the standardized `x` (`width` values) to `z`, each clipped to ±√(n + 1) after n
    /// inputs: the most a sample can deviate once it is counted in the statistics (Samuelson's
    /// inequality), so that early on, while the statistics have not seen a feature's scale, no
    /// input reaches the network at its raw scale.
    @inline(__always) func standardize(_ x: UnsafePointer<Double>, into z: UnsafeMutablePointer<Double>) {
        let m = mean.base
        let s = inverseDeviation.base
        let bound = Double(count + 1).squareRoot()
        for j in 0..<width { z[j] = min(max((x[j] - m[j]) * s[j], -bound), bound) }
    }
}
