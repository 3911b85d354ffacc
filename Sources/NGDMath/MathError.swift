/// What went wrong in the math module, and where. Each case reads as a sentence to a user.
///
/// Every operation that throws one of these checks its input *before* it changes anything: a
/// rejected sample or setting leaves the network and the optimizer exactly as they were.
public enum MathError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The layer sizes or activations do not describe a network ngd can build.
    case invalidArchitecture(String)
    /// A setting is out of its allowed range.
    case invalidSetting(TrainingSetting, value: String, reason: String)
    /// A vector or block has the wrong length.
    case dimensionMismatch(what: String, expected: Int, got: Int)
    /// An input or target contains NaN or ±infinity.
    case nonFiniteValue(what: String, index: Int)
    /// A saved state does not fit the object it is restored into.
    case invalidState(String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let why): return "invalid network architecture: \(why)"
        case .invalidSetting(let setting, let value, let reason):
            return "invalid setting \(setting.configKey) = \(value): \(reason)"
        case .dimensionMismatch(let what, let expected, let got):
            return "\(what) has \(got) values, expected \(expected)"
        case .nonFiniteValue(let what, let index):
            return "\(what) has a non-finite value (NaN or infinity) at index \(index)"
        case .invalidState(let why): return "cannot restore state: \(why)"
        }
    }
}
