#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tanh` from the C library; named apart because the `Activation.tanh` case shadows it.
@inline(__always) private func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }

/// An element-wise activation function φ of a layer.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case identity
    case tanh
    case relu
    case sigmoid

    /// Applies φ in place to `count` pre-activations at `a`, and writes φ' at each point to
    /// `derivative`. For `identity` the derivative is 1.
    @inline(__always) package func apply(
        _ a: UnsafeMutablePointer<Double>, derivative: UnsafeMutablePointer<Double>, count: Int
    ) {
        switch self {
        case .identity: derivative.update(repeating: 1, count: count)
        case .tanh:
            for i in 0..<count {
                let y = hyperbolicTangent(a[i])
                a[i] = y
                derivative[i] = 1 - y * y
            }
        case .relu:
            for i in 0..<count {
                let positive = a[i] > 0
                a[i] = positive ? a[i] : 0
                derivative[i] = positive ? 1 : 0
            }
        case .sigmoid:
            for i in 0..<count {
                let y = 1 / (1 + exp(-a[i]))
                a[i] = y
                derivative[i] = y * (1 - y)
            }
        }
    }

    /// Applies φ in place to `count` pre-activations at `a` (no derivative).
    @inline(__always) package func apply(_ a: UnsafeMutablePointer<Double>, count: Int) {
        switch self {
        case .identity: return
        case .tanh: for i in 0..<count { a[i] = hyperbolicTangent(a[i]) }
        case .relu: for i in 0..<count where !(a[i] > 0) { a[i] = 0 }
        case .sigmoid: for i in 0..<count { a[i] = 1 / (1 + exp(-a[i])) }
        }
    }

    /// φ(a) for one value (reference and tests).
    public func value(_ a: Double) -> Double {
        switch self {
        case .identity: return a
        case .tanh: return hyperbolicTangent(a)
        case .relu: return a > 0 ? a : 0
        case .sigmoid: return 1 / (1 + exp(-a))
        }
    }
}
