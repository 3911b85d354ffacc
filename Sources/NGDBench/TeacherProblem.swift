import NGDMath

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The paper's Figure 1A–C problems: a deep linear teacher network of the same architecture
/// as the student, correlated Gaussian inputs, and Gaussian output noise.
///
/// - inputs x ~ N(0, Σ), Σ = Q diag(e^{−5i/n₀}) Qᵀ with Q random orthogonal, i = 0…n₀−1;
/// - teacher weights W ~ N(0, 1/n_in), no biases;
/// - targets y = teacher(x) + noise, noise ~ N(0, σ²I) with σ² = 10⁻⁶ (the `mse` floor);
/// - 10⁴ training samples and 10³ test samples.
public struct TeacherProblem: Sendable {
    /// The three architectures of Figure 1.
    public enum Arch: String, CaseIterable, Sendable {
        /// 16 layers of 20.
        case A
        /// 16 layers, 20, 30, …, 100, …, 30, 20.
        case B
        /// 12 layers, a bottleneck: 200, 80, 34, 20, 10, 5, 2, 5, …, 200.
        case C

        /// n₀…n_L.
        public var sizes: [Int] {
            switch self {
            case .A: return Array(repeating: 20, count: 17)
            case .B:
                return Array(stride(from: 20, through: 100, by: 10)) + Array(stride(from: 90, through: 20, by: -10))
            case .C: return [200, 80, 34, 20, 10, 5, 2, 5, 10, 20, 34, 80, 200]
            }
        }

        /// The linear, bias-free architecture.
        public var architecture: Architecture {
            // Fixed sizes, all valid.
            try! Architecture(sizes: sizes, hidden: .identity, bias: false)
        }
    }

    public let arch: Arch
    public let seed: UInt64
    /// σ² of the target noise.
    public let noiseVariance: Double
    public let train: Dataset
    public let test: Dataset
    /// The teacher's own test error: the noise actually drawn in the test targets (≈ σ²).
    public let floor: Double

    /// Builds the problem for `seed`. The same arch, seed and sizes always give the same data.
    public init(
        arch: Arch, seed: UInt64, trainCount: Int = 10_000, testCount: Int = 1_000, noiseVariance: Double = 1e-6
    ) {
        self.arch = arch
        self.seed = seed
        self.noiseVariance = noiseVariance
        let a = arch.architecture
        let n0 = a.inputSize
        let nL = a.outputSize
        var rng = RandomSource(seed: seed &* 0x1000_0001 &+ 11)
        let q = rng.orthogonalMatrix(rows: n0, columns: n0)
        let scales = (0..<n0).map { exp(-5 * Double($0) / Double(n0)).squareRoot() }
        let teacher = Network(architecture: a, initialization: .standard, seed: rng.next())
        let noiseSD = noiseVariance.squareRoot()
        func sample(_ count: Int) -> (Dataset, Double) {
            var x = [Double](repeating: 0, count: count * n0)
            var z = [Double](repeating: 0, count: n0)
            for r in 0..<count {
                for i in 0..<n0 { z[i] = scales[i] * rng.nextGaussian() }
                for i in 0..<n0 {
                    var s = 0.0
                    for j in 0..<n0 { s += q[i * n0 + j] * z[j] }
                    x[r * n0 + i] = s
                }
            }
            // Generated inputs are finite and well-shaped.
            var y = try! teacher.predict(x, count: count)
            var noise = 0.0
            for i in 0..<y.count {
                let e = noiseSD * rng.nextGaussian()
                y[i] += e
                noise += e * e
            }
            return (
                Dataset(inputs: x, targets: y, count: count, inputSize: n0, outputSize: nL), noise / Double(y.count)
            )
        }
        train = sample(trainCount).0
        let (t, f) = sample(testCount)
        test = t
        floor = f
    }

    /// The seed of the student's initial weights, shared by every optimizer on this problem.
    public var studentSeed: UInt64 { seed &* 0x1000_0001 &+ 12 }
    /// The seed of the training order, shared by every optimizer on this problem.
    public var streamSeed: UInt64 { seed &* 0x1000_0001 &+ 13 }
}
