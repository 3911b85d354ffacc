import NGDMath

/// One optimizer configuration in a benchmark.
public struct OptimizerSpec: Sendable {
    /// `ngd`, `sgd` or `adam`.
    public let name: String
    /// The learning rate that distinguishes grid points.
    public let learningRate: Double
    /// Samples per update.
    public let blockSize: Int
    /// NGD: the factors are updated on one block in this many.
    public let factorInterval: Int
    /// Builds the optimizer around a copy of the initial network.
    public let make: @Sendable (Network) throws -> any Optimizer

    public init(
        name: String, learningRate: Double, blockSize: Int, factorInterval: Int = 1,
        make: @escaping @Sendable (Network) throws -> any Optimizer
    ) {
        self.name = name
        self.learningRate = learningRate
        self.blockSize = blockSize
        self.factorInterval = factorInterval
        self.make = make
    }

    /// NGD with `settings`.
    public static func naturalGradient(_ settings: NaturalGradientSettings, seed: UInt64) -> OptimizerSpec {
        OptimizerSpec(
            name: "ngd", learningRate: settings.learningRate, blockSize: settings.blockSize,
            factorInterval: settings.factorInterval
        ) { try NaturalGradientOptimizer(network: $0, settings: settings, seed: seed) }
    }

    /// SGD with learning rate `lr` and mini-batch `batch`.
    public static func sgd(lr: Double, batch: Int) -> OptimizerSpec {
        OptimizerSpec(name: "sgd", learningRate: lr, blockSize: batch) {
            try SGDOptimizer(network: $0, settings: SGDSettings(learningRate: lr, blockSize: batch))
        }
    }

    /// Adam with step size `lr` and mini-batch `batch`.
    public static func adam(lr: Double, batch: Int) -> OptimizerSpec {
        OptimizerSpec(name: "adam", learningRate: lr, blockSize: batch) {
            try AdamOptimizer(network: $0, settings: AdamSettings(learningRate: lr, blockSize: batch))
        }
    }

    /// A short label such as `sgd lr=0.01`.
    public var label: String {
        "\(name) lr=\(learningRate)" + (blockSize > 1 ? " M=\(blockSize)" : "")
            + (factorInterval > 1 ? " F=1/\(factorInterval)" : "")
    }
}

/// The test error of one optimizer at one point of its stream.
public struct BenchPoint: Equatable, Sendable {
    public let samples: Int
    /// Mean over test samples and outputs of (y − x_L)²; +∞ once the run has diverged.
    public let testMSE: Double
}

/// One optimizer's whole run.
public struct BenchRun: Sendable {
    public let spec: OptimizerSpec
    public let points: [BenchPoint]
    /// Median over chunks of about 200 samples of the training wall time per sample (µs),
    /// excluding test evaluations.
    public let microsecondsPerSample: Double
    /// The sample count at which the prequential error became non-finite, if it did.
    public let divergedAt: Int?
    /// For NGD: steps taken, rejected and clipped, and the final damping λ.
    public let naturalGradient: (counters: NaturalGradientOptimizer.Counters, damping: Double)?

    /// The test error at `samples`, if that was a checkpoint.
    public func testMSE(at samples: Int) -> Double? { points.first { $0.samples == samples }?.testMSE }
}

/// Streams samples through optimizers and records test error at checkpoints.
public enum BenchRunner {
    /// Checkpoints 1k, 2k, 5k, 10k, 20k, 50k, 100k, … up to `total`, plus `total` itself.
    public static func checkpoints(upTo total: Int, from standard: [Int] = [1_000, 2_000, 5_000]) -> [Int] {
        var out = standard.filter { $0 <= total }
        var decade = 10_000
        while decade <= total {
            for m in [1, 2, 5] where m * decade <= total { out.append(m * decade) }
            decade *= 10
        }
        if out.last != total { out.append(total) }
        return Array(Set(out)).sorted()
    }

    /// Trains a fresh optimizer from `initial` (copied, never changed) on `stream`, measuring
    /// test error on `test` at each checkpoint. `progress` is called with samples done after
    /// each chunk.
    public static func run(
        _ spec: OptimizerSpec, initial: Network, stream: SampleStream, test: Dataset, checkpoints: [Int],
        progress: (Int) -> Void = { _ in }
    ) throws -> BenchRun {
        let optimizer = try spec.make(initial.copy())
        var stream = stream
        let chunk = max(spec.blockSize, (200 / spec.blockSize) * spec.blockSize)
        var x = [Double](repeating: 0, count: chunk * test.inputSize)
        var y = [Double](repeating: 0, count: chunk * test.outputSize)
        var points = [BenchPoint]()
        var perSample = [Double]()
        var done = 0
        var diverged: Int?
        let clock = ContinuousClock()
        for checkpoint in checkpoints {
            while done < checkpoint, diverged == nil {
                let k = min(chunk, checkpoint - done)
                stream.next(k, inputs: &x, targets: &y)
                var report = TrainReport(outputSize: test.outputSize)
                // The buffers hold `chunk` samples; a shorter last step trains on a copy of its part.
                let (xs, ys) =
                    k == chunk ? (x, y) : (Array(x[..<(k * test.inputSize)]), Array(y[..<(k * test.outputSize)]))
                let elapsed = try clock.measure { report = try optimizer.train(inputs: xs, targets: ys, count: k) }
                if k == chunk { perSample.append(elapsed.microseconds / Double(k)) }
                done += k
                if !(report.meanSquaredError < Self.divergedError) { diverged = done }
                progress(done)
            }
            let mse = diverged == nil ? test.meanSquaredError(of: optimizer.network) : .infinity
            points.append(BenchPoint(samples: checkpoint, testMSE: mse.isFinite ? mse : .infinity))
        }
        let ngd = (optimizer as? NaturalGradientOptimizer).map { (counters: $0.counters, damping: $0.damping) }
        return BenchRun(
            spec: spec, points: points, microsecondsPerSample: median(perSample), divergedAt: diverged,
            naturalGradient: ngd)
    }

    /// A prequential mse at or above this marks a run as diverged. The optimizers refuse steps
    /// that would make a weight non-finite, so a run whose weights run away stays finite but
    /// absurd; 10¹⁰⁰ is far above any error a working model makes.
    public static let divergedError = 1e100

    /// Runs every spec in turn from the same initial network and the same stream, reporting
    /// progress as `"<tag> [i/n] <label>: done/total samples"` every 5 %.
    public static func runAll(
        _ specs: [OptimizerSpec], initial: Network, stream: SampleStream, test: Dataset, checkpoints: [Int],
        tag: String, progress: (String) -> Void
    ) throws -> [BenchRun] {
        let total = checkpoints.last ?? 0
        var runs = [BenchRun]()
        for (index, spec) in specs.enumerated() {
            let label = "\(tag) [\(index + 1)/\(specs.count)] \(spec.label)"
            var shown = -1
            runs.append(
                try run(spec, initial: initial, stream: stream, test: test, checkpoints: checkpoints) { done in
                    let step = done * 20 / max(total, 1)
                    if step != shown {
                        shown = step
                        progress("\(label): \(done)/\(total) samples")
                    }
                })
        }
        return runs
    }
}

extension Duration {
    /// The duration in microseconds.
    var microseconds: Double {
        let c = components
        return Double(c.seconds) * 1e6 + Double(c.attoseconds) * 1e-12
    }
}

extension [BenchRun] {
    /// The lowest finite test error at `samples` among runs of optimizer `name` (a grid), with
    /// its run; `nil` when there is no such run or every one diverged.
    public func best(_ name: String, at samples: Int) -> (run: BenchRun, mse: Double)? {
        filter { $0.spec.name == name }.compactMap { r in r.testMSE(at: samples).map { (run: r, mse: $0) } }.filter {
            $0.mse.isFinite
        }.min { $0.mse < $1.mse }
    }
}

/// The median of `values` (0 when empty).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
}
