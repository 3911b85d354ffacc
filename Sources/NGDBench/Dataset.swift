import NGDMath

/// Samples in memory: `count` rows of inputs (`inputSize` wide) and targets (`outputSize` wide),
/// row-major.
public struct Dataset: Sendable {
    public var inputs: [Double]
    public var targets: [Double]
    public let count: Int
    public let inputSize: Int
    public let outputSize: Int

    public init(inputs: [Double], targets: [Double], count: Int, inputSize: Int, outputSize: Int) {
        precondition(inputs.count == count * inputSize && targets.count == count * outputSize, "Dataset: size mismatch")
        self.inputs = inputs
        self.targets = targets
        self.count = count
        self.inputSize = inputSize
        self.outputSize = outputSize
    }

    /// The test error of `network` on this set: mean over samples and outputs of (y − x_L)².
    public func meanSquaredError(of network: Network) -> Double {
        // The datasets here are generated or parsed, so always finite and well-shaped.
        try! network.meanSquaredError(inputs: inputs, targets: targets, count: count)
    }
}

/// An endless stream over a training set: it visits every sample once per pass, in an order
/// reshuffled (Fisher–Yates, seeded) at the start of each pass. Two streams with the same seed
/// give the same order, so every optimizer in a benchmark sees the same samples.
public struct SampleStream {
    public let data: Dataset
    private var order: [Int]
    private var position = 0
    private var random: RandomSource

    public init(_ data: Dataset, seed: UInt64) {
        self.data = data
        order = Array(0..<data.count)
        random = RandomSource(seed: seed)
        shuffle()
    }

    private mutating func shuffle() {
        var i = order.count - 1
        while i > 0 {
            let j = random.nextIndex(below: i + 1)
            order.swapAt(i, j)
            i -= 1
        }
        position = 0
    }

    /// Copies the next `k` samples into `x` (`k × n₀`) and `y` (`k × n_L`).
    public mutating func next(_ k: Int, inputs x: inout [Double], targets y: inout [Double]) {
        let ni = data.inputSize
        let no = data.outputSize
        for r in 0..<k {
            if position == order.count { shuffle() }
            let s = order[position]
            position += 1
            for c in 0..<ni { x[r * ni + c] = data.inputs[s * ni + c] }
            for c in 0..<no { y[r * no + c] = data.targets[s * no + c] }
        }
    }
}
