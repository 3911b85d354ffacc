import NGDMath

/// `ngd bench paper`: the paper's Figure 1A–C, online.
///
/// For each seed it builds the ``TeacherProblem``, draws one initial student (W ~ N(0, 1/n_in)),
/// and streams the same shuffled training samples through NGD, SGD over a learning-rate grid
/// and Adam over a grid, measuring test `mse` at the checkpoints.
public struct PaperBench {
    public var arch: TeacherProblem.Arch
    public var seeds: [UInt64]
    /// Total samples streamed per optimizer.
    public var samples: Int
    public var ngd: NaturalGradientSettings
    public var sgdRates: [Double]
    public var adamRates: [Double]
    /// SGD and Adam mini-batch size.
    public var batch: Int
    /// Which optimizers to run (`ngd`, `sgd`, `adam`).
    public var optimizers: Set<String>

    /// The SGD grid (on ½‖y − x_L‖², M = 1): it brackets each problem's best rate
    /// (docs/performance.md, "Design measurements").
    public static let defaultSGDRates = [3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 2e-2]
    /// The Adam grid (M = 1), likewise.
    public static let defaultAdamRates = [3e-5, 1e-4, 3e-4, 1e-3]

    /// NGD for these problems: σ² = 10⁻⁶ (the teacher's noise), every other setting at its
    /// default.
    public static var defaultNGD: NaturalGradientSettings {
        var s = NaturalGradientSettings()
        s.outputVariance = 1e-6
        return s
    }

    public init(arch: TeacherProblem.Arch, seeds: [UInt64] = [0], samples: Int = 20_000) {
        self.arch = arch
        self.seeds = seeds
        self.samples = samples
        ngd = Self.defaultNGD
        sgdRates = Self.defaultSGDRates
        adamRates = Self.defaultAdamRates
        batch = 1
        optimizers = ["ngd", "sgd", "adam"]
    }

    /// The optimizer grid for one problem.
    public func specs(seed: UInt64) -> [OptimizerSpec] {
        var out = [OptimizerSpec]()
        if optimizers.contains("ngd") { out.append(.naturalGradient(ngd, seed: seed &+ 0x5EED)) }
        if optimizers.contains("sgd") { out += sgdRates.map { .sgd(lr: $0, batch: batch) } }
        if optimizers.contains("adam") { out += adamRates.map { .adam(lr: $0, batch: batch) } }
        return out
    }

    /// The result of one seed.
    public struct Result: Sendable {
        public let problem: TeacherProblem
        public let runs: [BenchRun]

        /// The lowest test error at `samples` among runs of optimizer `name`, with its run.
        public func best(_ name: String, at samples: Int) -> (run: BenchRun, mse: Double)? {
            runs.best(name, at: samples)
        }
    }

    /// Runs every seed. `progress` receives a one-line status now and then.
    public func run(progress: (String) -> Void = { _ in }) throws -> [Result] {
        let checkpoints = BenchRunner.checkpoints(upTo: samples)
        var results = [Result]()
        for seed in seeds {
            let problem = TeacherProblem(arch: arch, seed: seed)
            let initial = Network(architecture: arch.architecture, initialization: .standard, seed: problem.studentSeed)
            let stream = SampleStream(problem.train, seed: problem.streamSeed)
            let runs = try BenchRunner.runAll(
                specs(seed: seed), initial: initial, stream: stream, test: problem.test, checkpoints: checkpoints,
                tag: "arch \(arch.rawValue) seed \(seed)", progress: progress)
            results.append(Result(problem: problem, runs: runs))
        }
        return results
    }

    /// The text report of one seed: the table and a verdict against the paper's claims.
    public func table(_ r: Result) -> String {
        let a = arch
        var title =
            "Figure 1\(a.rawValue): \(a.architecture.summary), \(a.architecture.layerCount) layers, seed \(r.problem.seed); "
        title += "floor = teacher's own test mse = \(BenchReport.scientific(r.problem.floor))"
        return [
            title, BenchReport.table(r.runs, floor: r.problem.floor), summary(r),
            BenchReport.naturalGradientNotes(r.runs),
        ].filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// Ratios to the floor for NGD and for the best of each grid.
    public func summary(_ r: Result) -> String {
        var lines = [String]()
        let f = r.problem.floor
        let checkpoints = r.runs.first?.points.map(\.samples) ?? []
        for name in ["ngd", "sgd", "adam"] {
            let parts = checkpoints.filter { $0 >= 5_000 }.compactMap { n -> String? in
                guard let b = r.best(name, at: n) else { return nil }
                let grid = r.runs.filter { $0.spec.name == name }.count > 1 ? " (\(b.run.spec.label))" : ""
                return "\(BenchReport.countLabel(n)): \(BenchReport.ratio(b.mse / f))×\(grid)"
            }
            let label = "  \(name == "ngd" ? "ngd" : "best \(name)") / floor — "
            if !parts.isEmpty {
                lines.append(label + parts.joined(separator: ", "))
            } else if r.runs.contains(where: { $0.spec.name == name }), checkpoints.contains(where: { $0 >= 5_000 }) {
                lines.append(label + "every run diverged")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// JSON lines for one seed.
    public func jsonLines(_ r: Result) -> [String] {
        BenchReport.jsonLines(
            r.runs,
            extra: [
                ("arch", "\"\(arch.rawValue)\""), ("seed", "\(r.problem.seed)"),
                ("floor", BenchReport.json(r.problem.floor)),
            ])
    }
}
