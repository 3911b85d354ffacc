import NGDMath
import NGDWire

/// A linear teacher y = A x with 4 inputs and 2 outputs, for learning tests. Its inputs are
/// uniform in [-1, 1] from a seeded generator, so a failing run can be repeated.
public struct LinearTeacher {
    public let seed: UInt64
    private var random: RandomSource
    public let a: [[Double]] = [[0.5, -0.3, 0.8, 0.1], [-0.2, 0.7, 0.0, -0.6]]

    public init(seed: UInt64 = 1) {
        self.seed = seed
        random = RandomSource(seed: seed)
    }

    public mutating func sample() -> ([Double], [Double]) {
        let x = (0..<4).map { _ in 2 * random.nextOpenUnit() - 1 }
        let y = a.map { row in zip(row, x).reduce(0) { $0 + $1.0 * $1.1 } }
        return (x, y)
    }

    public func json(_ x: [Double], _ y: [Double]?, id: Int) -> String {
        let m = SampleMessage(x: x, y: y, count: 1, id: .json(.number(Double(id), text: "\(id)")))
        return String(decoding: m.encode(), as: UTF8.self)
    }
}
