import ArgumentParser
import Foundation
import NGDBench
import NGDMath

/// `ngd bench speed`: kernels and per-sample learning cost, each against baselines in the same run.
struct SpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Speed: factor-update kernels against raw OpenBLAS and naive loops; per-sample cost of NGD against SGD and Adam.",
        discussion: """
            Every ratio compares measurements from this process and this run. Figures are medians \
            of repeated timed batches. Build with -c release.
            """
    )

    @Option(help: ArgumentHelp("Sections to run: kernels, steps, target (ngd's time to 2× the floor on A, B, C), peer (the numpy peer; needs python3, numpy, scipy).", valueName: "list"))
    var only = "kernels,steps,target,peer"
    @Option(help: ArgumentHelp("The numpy peer script.", valueName: "path"))
    var peerScript = "bench/numpy_peer.py"
    @Option(help: ArgumentHelp("Samples the numpy batch NGD may use to reach 2× the floor.", valueName: "n"))
    var peerBatchSamples = 100_000
    @Option(help: ArgumentHelp("Factor dimensions n for the kernel table.", valueName: "list"))
    var sizes = "21,101,401,785"
    @Option(help: ArgumentHelp("Vectors per update k for the kernel table (1 = Sherman–Morrison).", valueName: "list"))
    var blocks = "1,4,16,64"
    @Option(help: ArgumentHelp("Largest n at which the naive reference is timed.", valueName: "n"))
    var naiveUpTo = 1000
    @Option(help: ArgumentHelp("Timed chunks per optimizer in the step table.", valueName: "n"))
    var chunks = 7
    @Option(help: ArgumentHelp("Networks for the step table: A, autoencoder, or both.", valueName: "list"))
    var networks = "A,autoencoder"
    @Option(help: ArgumentHelp("k of the Woodbury rows in the step table.", valueName: "k"))
    var woodburyBlock = 16

    func ints(_ s: String, _ name: String) throws -> [Int] {
        let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) >= 1 }) else { throw ValidationError("--\(name) must be a comma-separated list of positive integers") }
        return v.map { $0! }
    }

    func run() throws {
        let sections = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        guard sections.isSubset(of: ["kernels", "steps", "target", "peer"]), !sections.isEmpty else {
            throw ValidationError("--only takes a comma-separated list of kernels, steps, target, peer")
        }
        let progress = Progress()
        emit(BLASCore.summary + "\n")
        if sections.contains("kernels") {
            let rows = SpeedBench.kernels(sizes: try ints(sizes, "sizes"), blocks: try ints(blocks, "blocks"), naiveUpTo: naiveUpTo) {
                progress.show($0)
            }
            progress.done()
            emit(SpeedBench.kernelTable(rows))
        }
        if sections.contains("steps") {
            var rows: [SpeedBench.StepRow] = []
            let nets = Set(networks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            guard nets.isSubset(of: ["A", "autoencoder"]), !nets.isEmpty else { throw ValidationError("--networks takes A and/or autoencoder") }
            if nets.contains("A") {
            // Figure 1A: 16 linear layers of 20, the paper bench's settings.
            let a = TeacherProblem(arch: .A, seed: 0, trainCount: 2000, testCount: 1)
            rows += try SpeedBench.steps(
                problem: "A 16×20", architecture: TeacherProblem.Arch.A.architecture,
                specs: specs(ngd: PaperBench.defaultNGD, sgd: 0.01, adam: 3e-4),
                data: interleave(a.train), warmup: 400, chunk: 208, chunks: chunks) { progress.show($0) }
            }
            if nets.contains("autoencoder") {
            // The autoencoder, on random images (timing does not depend on the pixels).
            var rng = RandomSource(seed: 5)
            let images = (0..<(500 * 784)).map { _ in Double(rng.next() % 256) / 255 }
            var data: [Double] = []
            for r in 0..<500 { let img = images[(r * 784)..<((r + 1) * 784)]; data += img; data += img }
            let arch = try Architecture(sizes: AutoencoderBench.sizes, hidden: .tanh, bias: true)
            rows += try SpeedBench.steps(
                problem: "autoencoder", architecture: arch,
                specs: specs(ngd: AutoencoderBench.defaultNGD, sgd: 1e-3, adam: 1e-4),
                data: data, warmup: 400, chunk: 208, chunks: max(3, chunks / 2)) { progress.show($0) }
            }
            progress.done()
            emit(SpeedBench.stepTable(rows))
        }
        var targets: [SpeedBench.TargetRow] = []
        if sections.contains("target") || sections.contains("peer") {
            for arch in TeacherProblem.Arch.allCases {
                let problem = TeacherProblem(arch: arch, seed: 0)
                var woodbury = PaperBench.defaultNGD
                woodbury.blockSize = 16
                var sparse = woodbury
                sparse.factorInterval = 2
                for (label, s) in [(Self.smLabel, PaperBench.defaultNGD), (Self.woodburyLabel, woodbury), (Self.intervalLabel, sparse)] {
                    progress.show("target: \(arch) \(label)")
                    targets.append(try SpeedBench.timeToTarget(problem: problem, label: label, settings: s, maxSamples: 20_000))
                }
            }
            progress.done()
        }
        var peers: [PeerResult] = []
        if sections.contains("peer") {
            peers = try runPeer(progress: progress)
            for p in peers where p.problem != "autoencoder" {
                targets.append(SpeedBench.TargetRow(
                    problem: p.problem, method: p.method == "batch" ? "numpy batch NGD (M=1000)" : "numpy online SM-NGD",
                    microseconds: p.us_per_sample, samplesToTarget: p.samples_to_2x_floor, secondsToTarget: p.seconds_to_2x_floor))
            }
        }
        if !targets.isEmpty {
            emit(SpeedBench.targetTable(targets.sorted { $0.problem < $1.problem }))
        }
        if !peers.isEmpty { emit(peerSummary(targets: targets, peers: peers)) }
    }

    struct PeerResult: Decodable {
        let problem: String
        let method: String
        let us_per_sample: Double
        let samples: Int
        let samples_to_2x_floor: Int?
        let seconds_to_2x_floor: Double?
    }

    /// Runs the numpy peer with one BLAS thread, once per problem and method.
    func runPeer(progress: Progress) throws -> [PeerResult] {
        guard FileManager.default.fileExists(atPath: peerScript) else {
            throw CommandFailure("the numpy peer \(peerScript) is missing; run from the repository root or pass --peer-script")
        }
        var env = ProcessInfo.processInfo.environment
        let setByNgd = env.removeValue(forKey: BLASCore.priorCoreVariable) != nil
        for key in ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"] where env[key] != nil {
            let origin = key == "OPENBLAS_CORETYPE" && setByNgd ? "was set by ngd for its own OpenBLAS" : "is set on this machine"
            emit("note: \(key)=\(env[key]!) \(origin); unset for the numpy peer, which uses its own OpenBLAS")
            env.removeValue(forKey: key)
        }
        env["OPENBLAS_NUM_THREADS"] = "1"
        env["OMP_NUM_THREADS"] = "1"
        env["MKL_NUM_THREADS"] = "1"
        let runs: [(String, String, Int)] = [
            ("A", "batch", peerBatchSamples), ("A", "online", 20_000), ("B", "batch", peerBatchSamples), ("B", "online", 20_000),
            ("C", "batch", peerBatchSamples), ("C", "online", 20_000), ("autoencoder", "batch", 5_000), ("autoencoder", "online", 1_000),
        ]
        var results: [PeerResult] = []
        for (problem, method, samples) in runs {
            progress.show("peer: numpy \(method) on \(problem)")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", peerScript, "--problem", problem, "--method", method, "--samples", String(samples), "--budget", "120"]
            p.environment = env
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            guard p.terminationStatus == 0, let r = try? JSONDecoder().decode(PeerResult.self, from: data) else {
                throw CommandFailure("the numpy peer failed on \(problem) \(method): \(errText.suffix(400))")
            }
            results.append(r)
        }
        progress.done()
        return results
    }

    func peerSummary(targets: [SpeedBench.TargetRow], peers: [PeerResult]) -> String {
        var out = "ngd against the numpy peer (same run, one BLAS thread each)\n"
        func ngd(_ problem: String, _ label: String) -> SpeedBench.TargetRow? {
            targets.first { $0.problem == problem && $0.method == label }
        }
        func ratio(_ numpy: Double?, _ ngd: Double?, _ never: String) -> String {
            switch (numpy, ngd) {
            case let (b?, n?): return String(format: "%.1f×", b / n)
            case (nil, _?): return never
            default: return "ngd did not reach it"
            }
        }
        for problem in ["A", "B", "C"] {
            guard let sm = ngd(problem, Self.smLabel), let online = peers.first(where: { $0.problem == problem && $0.method == "online" }),
                  let batch = peers.first(where: { $0.problem == problem && $0.method == "batch" }) else { continue }
            let woodbury = ngd(problem, Self.woodburyLabel), sparse = ngd(problem, Self.intervalLabel)
            let never = "numpy batch never reached it in \(batch.samples) samples"
            let best = [sm, woodbury].compactMap { $0?.secondsToTarget }.min()
            out += "  \(problem): per sample, numpy online / ngd = \(String(format: "%.1f", online.us_per_sample / sm.microseconds))× (SM)"
            if let w = woodbury { out += ", \(String(format: "%.1f", online.us_per_sample / w.microseconds))× (Woodbury)" }
            out += "; time to 2× floor, numpy batch / best ngd = \(ratio(batch.seconds_to_2x_floor, best, never))"
            if let f = sparse { out += " (\(ratio(batch.seconds_to_2x_floor, f.secondsToTarget, never)) with factors 1/2)" }
            out += "\n"
        }
        if let batch = peers.first(where: { $0.problem == "autoencoder" && $0.method == "batch" }),
           let online = peers.first(where: { $0.problem == "autoencoder" && $0.method == "online" }) {
            out += "  autoencoder per sample: numpy batch NGD \(String(format: "%.0f", batch.us_per_sample)) µs, numpy online SM-NGD \(String(format: "%.0f", online.us_per_sample)) µs (compare with the step table)\n"
        }
        return out
    }

    func interleave(_ d: Dataset) -> [Double] {
        var out: [Double] = []
        for r in 0..<d.count {
            out += d.inputs[(r * d.inputSize)..<((r + 1) * d.inputSize)]
            out += d.targets[(r * d.outputSize)..<((r + 1) * d.outputSize)]
        }
        return out
    }

    static let smLabel = "ngd Sherman–Morrison (k=1)"
    static let woodburyLabel = "ngd Woodbury (k=16)"
    static let intervalLabel = "ngd Woodbury (k=16), factors 1/2"

    func specs(ngd: NaturalGradientSettings, sgd: Double, adam: Double) -> [(String, (Network) throws -> any Optimizer)] {
        var woodbury = ngd
        woodbury.blockSize = woodburyBlock
        var sparse = woodbury
        sparse.factorInterval = 2
        return [
            (Self.smLabel, { try NaturalGradientOptimizer(network: $0, settings: ngd, seed: 1) }),
            ("ngd Woodbury (k=\(woodburyBlock))", { try NaturalGradientOptimizer(network: $0, settings: woodbury, seed: 1) }),
            ("ngd Woodbury (k=\(woodburyBlock)), factors 1/2", { try NaturalGradientOptimizer(network: $0, settings: sparse, seed: 1) }),
            ("sgd lr=\(sgd)", { try SGDOptimizer(network: $0, settings: SGDSettings(learningRate: sgd, blockSize: 1)) }),
            ("adam lr=\(adam)", { try AdamOptimizer(network: $0, settings: AdamSettings(learningRate: adam, blockSize: 1)) }),
        ]
    }
}
