#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seeded, serialisable pseudo-random generator: xoshiro256** seeded through SplitMix64.
///
/// Every random draw in ngd (initial weights, the targets sampled from the model, shuffling)
/// comes from one of these, so the same seed and the same sample stream give bit-identical
/// weights. Its whole state is four words (``state``), so a checkpoint restores it exactly.
///
/// Thread safety: a value type; each optimizer owns its own.
public struct RandomSource: RandomNumberGenerator, Codable, Equatable, Sendable {
    /// The four state words of xoshiro256**. Never all zero.
    public private(set) var state: [UInt64]

    /// A generator whose state is derived from `seed` by SplitMix64.
    public init(seed: UInt64) {
        var s = seed
        var words = [UInt64]()
        for _ in 0..<4 { words.append(Self.splitMix64(&s)) }
        if words.allSatisfy({ $0 == 0 }) { words[0] = 0x9E37_79B9_7F4A_7C15 }
        state = words
    }

    /// Restores a generator from a saved ``state``.
    /// - Throws: ``MathError/invalidState(_:)`` unless there are four words, not all zero.
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw MathError.invalidState("random state must be four words, not all zero")
        }
        self.state = state
    }

    /// One step of SplitMix64: advances `x` and returns a well-mixed word.
    @inline(__always) public static func splitMix64(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// The next 64 random bits.
    @inline(__always) public mutating func next() -> UInt64 {
        let result = Self.rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = Self.rotl(state[3], 45)
        return result
    }

    /// A uniform draw from the open interval (0, 1), with 53 random bits.
    @inline(__always) public mutating func nextOpenUnit() -> Double { (Double(next() >> 11) + 0.5) * 0x1.0p-53 }

    /// A standard normal draw, by the Box–Muller transform (one draw per two uniforms, so the
    /// state stays four words with no cached spare).
    @inline(__always) public mutating func nextGaussian() -> Double {
        let u1 = nextOpenUnit()
        let u2 = nextOpenUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Fills `count` elements at `p` with standard normal draws times `scale`.
    package mutating func fillGaussian(_ p: UnsafeMutablePointer<Double>, count: Int, scale: Double = 1) {
        for i in 0..<count { p[i] = scale * nextGaussian() }
    }

    /// A uniform integer in `0..<bound` (Lemire's method, unbiased).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        // Spelled out rather than the standard library's `next(upperBound:)`, whose algorithm
        // may change between Swift releases: a shuffle must stay the same for the same seed.
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }
}

extension RandomSource {
    /// A random `rows × columns` matrix with orthonormal rows (rows ≤ columns) or orthonormal
    /// columns (rows > columns): modified Gram–Schmidt, run twice, on a Gaussian matrix.
    public mutating func orthogonalMatrix(rows: Int, columns: Int) -> [Double] {
        let transpose = rows > columns
        let (m, n) = transpose ? (columns, rows) : (rows, columns)  // orthonormalise m rows of length n
        var a = [Double](repeating: 0, count: m * n)
        for i in 0..<(m * n) { a[i] = nextGaussian() }
        for _ in 0..<2 {
            for i in 0..<m {
                for j in 0..<i {
                    var d = 0.0
                    for c in 0..<n { d += a[i * n + c] * a[j * n + c] }
                    for c in 0..<n { a[i * n + c] -= d * a[j * n + c] }
                }
                var norm = 0.0
                for c in 0..<n { norm += a[i * n + c] * a[i * n + c] }
                norm = norm.squareRoot()
                for c in 0..<n { a[i * n + c] /= norm }
            }
        }
        guard transpose else { return a }
        var t = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows { for c in 0..<columns { t[r * columns + c] = a[c * n + r] } }
        return t
    }
}
