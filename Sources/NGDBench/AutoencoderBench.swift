import NGDMath

/// `ngd bench autoencoder`: the paper's Figure 1D analogue on Fashion-MNIST.
///
/// A 784-400-200-100-50-100-200-400-784 network with tanh hidden layers, biases and a linear
/// output learns to reproduce its input (pixels scaled to [0, 1]) online, one pass over the
/// 60,000 training images in a seeded shuffled order. NGD, SGD over a grid and Adam over a grid
/// start from the same initial weights; test `mse` is measured on the 10,000 test images.
public struct AutoencoderBench {
    public static let sizes = [784, 400, 200, 100, 50, 100, 200, 400, 784]
    public var directory = FashionMNIST.defaultDirectory
    public var seed: UInt64 = 0
    /// Samples streamed per optimizer (one pass = 60,000).
    public var samples = 60_000
    /// Test images used for the test `mse` (at most 10,000).
    public var testCount = 10_000
    /// NGD settings: the defaults.
    public var ngd: NaturalGradientSettings
    public var sgdRates = Self.defaultSGDRates
    public var adamRates = Self.defaultAdamRates
    /// SGD grid (M = 1), bracketing the best rate (docs/performance.md).
    public static let defaultSGDRates = [5e-4, 1e-3, 2e-3, 3e-3]
    /// Adam grid (M = 1), likewise.
    public static let defaultAdamRates = [3e-5, 1e-4, 3e-4]
    /// SGD and Adam mini-batch size.
    public var batch = 1
    /// Which optimizers to run (`ngd`, `sgd`, `adam`).
    public var optimizers: Set<String> = ["ngd", "sgd", "adam"]

    public init() { ngd = Self.defaultNGD }

    /// The default settings.
    public static var defaultNGD: NaturalGradientSettings { NaturalGradientSettings() }

    /// The network shape.
    public static var architecture: Architecture {
        // Fixed sizes, all valid.
        try! Architecture(sizes: sizes, hidden: .tanh, bias: true)
    }

    /// The checkpoints: 10k, 20k, 60k, and `samples` when it differs.
    public var checkpoints: [Int] {
        Array(Set([10_000, 20_000, 60_000].filter { $0 <= samples } + [samples])).sorted()
    }

    public func specs() -> [OptimizerSpec] {
        var out = [OptimizerSpec]()
        if optimizers.contains("ngd") { out.append(.naturalGradient(ngd, seed: seed &+ 0x5EED)) }
        if optimizers.contains("sgd") { out += sgdRates.map { .sgd(lr: $0, batch: batch) } }
        if optimizers.contains("adam") { out += adamRates.map { .adam(lr: $0, batch: batch) } }
        return out
    }

    /// Loads the data and runs every optimizer.
    /// - Throws: ``DatasetError`` when the files cannot be read.
    public func run(progress: (String) -> Void = { _ in }) throws -> [BenchRun] {
        progress("reading Fashion-MNIST from \(directory)")
        let train = try FashionMNIST.loadImages(path: directory + "/" + FashionMNIST.trainImages)
        let test = try FashionMNIST.loadImages(path: directory + "/" + FashionMNIST.testImages, limit: testCount)
        let initial = Network(
            architecture: Self.architecture, initialization: .standard, seed: seed &* 0x1000_0001 &+ 12)
        let stream = SampleStream(train, seed: seed &* 0x1000_0001 &+ 13)
        return try BenchRunner.runAll(
            specs(), initial: initial, stream: stream, test: test, checkpoints: checkpoints, tag: "autoencoder",
            progress: progress)
    }

    /// The text report: the table and NGD's standing against the best of each grid.
    public func table(_ runs: [BenchRun]) -> String {
        var out = "Fashion-MNIST autoencoder \(Self.architecture.summary); test mse on \(testCount) test images\n"
        out += BenchReport.table(runs) + "\n"
        guard let ngdRun = runs.first(where: { $0.spec.name == "ngd" }) else { return out }
        for name in ["sgd", "adam"] where runs.contains(where: { $0.spec.name == name }) {
            let parts = checkpoints.compactMap { n -> String? in
                guard let mine = ngdRun.testMSE(at: n), let best = runs.best(name, at: n) else { return nil }
                return "\(BenchReport.countLabel(n)): \(BenchReport.ratio(best.mse / mine))× (\(best.run.spec.label))"
            }
            out += "  best \(name) mse / ngd mse — " + parts.joined(separator: ", ") + "\n"
        }
        let us = runs.map { "\($0.spec.label) \(BenchReport.format1($0.microsecondsPerSample)) µs" }
        out += "  median training time per sample — " + us.joined(separator: ", ") + "\n"
        out += BenchReport.naturalGradientNotes(runs)
        return out
    }
}
