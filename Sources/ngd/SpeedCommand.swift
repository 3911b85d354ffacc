import ArgumentParser
import Foundation
import NGDBench
import NGDMath
import NGDSystem

/// `ngd bench speed`: kernels and per-sample learning cost, each against baselines in the same run.
struct SpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract:
            "Speed: factor-update kernels against raw OpenBLAS and naive loops; per-sample cost of NGD against SGD and Adam; time to 2× the floor against the numpy peer.",
        discussion: """
            Every ratio compares measurements from this run. Kernels and their BLAS calls, and the \
            optimizers of the step table, are timed in alternating rounds; the target and peer \
            sections run ngd and the numpy peer back to back in each of --rounds rounds. Ratios are \
            medians of same-round ratios. Build with -c release and run from the repository root. \
            A full run takes about 2–4 minutes.
            """)

    @Option(
        help: ArgumentHelp(
            "Sections to run: kernels, steps, target (ngd's time to 2× the floor on A, B, C), peer (the numpy peer; needs python3, numpy, scipy).",
            valueName: "list")) var only = "kernels,steps,target,peer"
    @Option(help: ArgumentHelp("The numpy peer script.", valueName: "path")) var peerScript = "bench/numpy_peer.py"
    @Option(help: ArgumentHelp("Samples the numpy batch NGD may use to reach 2× the floor.", valueName: "n"))
    var peerBatchSamples = 100_000
    @Option(help: ArgumentHelp("Factor dimensions n for the kernel table.", valueName: "list")) var sizes =
        "21,101,401,785"
    @Option(help: ArgumentHelp("Vectors per update k for the kernel table (1 = Sherman–Morrison).", valueName: "list"))
    var blocks = "1,4,16,64"
    @Option(help: ArgumentHelp("Largest n at which the naive reference is timed.", valueName: "n")) var naiveUpTo = 1000
    @Option(help: ArgumentHelp("Timed chunks per optimizer in the step table.", valueName: "n")) var chunks = 7
    @Option(help: ArgumentHelp("Networks for the step table: A, autoencoder, or both.", valueName: "list"))
    var networks = "A,autoencoder"
    @Option(help: ArgumentHelp("k of the Woodbury rows in the step table.", valueName: "k")) var woodburyBlock = 16
    @Option(
        help: ArgumentHelp(
            "Rounds of the target and peer sections. In each round ngd and the numpy peer run back to back; ratios are medians of same-round ratios.",
            valueName: "n")) var rounds = 3

    func validate() throws {
        for (flag, value, range) in [
            ("--peer-batch-samples", peerBatchSamples, 1...100_000_000), ("--naive-up-to", naiveUpTo, 1...8192),
            ("--chunks", chunks, 1...1000), ("--woodbury-block", woodburyBlock, 1...1024),
            ("--rounds", rounds, 1...100),
        ] where !range.contains(value) {
            throw ValidationError("\(flag) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
    }

    func ints(_ s: String, _ name: String, upTo limit: Int) throws -> [Int] {
        let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ (1...limit).contains($0 ?? 0) }) else {
            throw ValidationError("--\(name) must be a comma-separated list of integers in 1...\(limit)")
        }
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
            let rows = SpeedBench.kernels(
                sizes: try ints(sizes, "sizes", upTo: 8192), blocks: try ints(blocks, "blocks", upTo: 1024),
                naiveUpTo: naiveUpTo
            ) { progress.show($0) }
            progress.done()
            emit(SpeedBench.kernelTable(rows))
        }
        if sections.contains("steps") {
            var rows: [SpeedBench.StepRow] = []
            let nets = Set(networks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            guard nets.isSubset(of: ["A", "autoencoder"]), !nets.isEmpty else {
                throw ValidationError("--networks takes A and/or autoencoder")
            }
            if nets.contains("A") {
                // Figure 1A: 16 linear layers of 20, the paper bench's settings.
                let a = TeacherProblem(arch: .A, seed: 0, trainCount: 2000, testCount: 1)
                rows += try SpeedBench.steps(
                    problem: "A 16×20", architecture: TeacherProblem.Arch.A.architecture,
                    specs: specs(ngd: PaperBench.defaultNGD, sgd: 0.01, adam: 3e-4), data: interleave(a.train),
                    warmup: 400, chunk: 208, chunks: chunks
                ) { progress.show($0) }
            }
            if nets.contains("autoencoder") {
                rows += try SpeedBench.steps(
                    problem: "autoencoder", architecture: try Self.autoencoder(),
                    specs: specs(ngd: AutoencoderBench.defaultNGD, sgd: 1e-3, adam: 1e-4), data: Self.autoencoderData(),
                    warmup: 400, chunk: 208, chunks: max(3, chunks / 2)
                ) { progress.show($0) }
            }
            progress.done()
            emit(SpeedBench.stepTable(rows))
        }
        guard sections.contains("target") || sections.contains("peer") else { return }
        let withPeer = sections.contains("peer")
        let env = withPeer ? try peerEnvironment() : [:]
        var results: [Round] = []
        for round in 0..<(withPeer ? rounds : 1) {
            var r = Round()
            for arch in TeacherProblem.Arch.allCases {
                let problem = TeacherProblem(arch: arch, seed: 0)
                var woodbury = PaperBench.defaultNGD
                woodbury.blockSize = 16
                var sparse = woodbury
                sparse.factorInterval = 2
                for (label, s) in [
                    (Self.smLabel, PaperBench.defaultNGD), (Self.woodburyLabel, woodbury), (Self.intervalLabel, sparse),
                ] {
                    progress.show("round \(round + 1): \(arch) \(label)")
                    r.targets.append(
                        try SpeedBench.timeToTarget(problem: problem, label: label, settings: s, maxSamples: 20_000))
                }
                guard withPeer else { continue }
                for method in ["batch", "online"] {
                    progress.show("round \(round + 1): \(arch) numpy \(method)")
                    let p = try runPeer(
                        problem: "\(arch)", method: method, samples: method == "batch" ? peerBatchSamples : 20_000,
                        env: env)
                    r.targets.append(
                        SpeedBench.TargetRow(
                            problem: p.problem, method: p.method == "batch" ? Self.batchLabel : Self.onlineLabel,
                            microseconds: p.us_per_sample, samplesToTarget: p.samples_to_2x_floor,
                            secondsToTarget: p.seconds_to_2x_floor))
                }
            }
            if withPeer {
                // The autoencoder per sample: ngd with blocks of 16 (a short step-table run), then numpy batch.
                progress.show("round \(round + 1): autoencoder")
                var woodbury = AutoencoderBench.defaultNGD
                woodbury.blockSize = 16
                let step = try SpeedBench.steps(
                    problem: "autoencoder", architecture: try Self.autoencoder(),
                    specs: [
                        (Self.woodburyLabel, { try NaturalGradientOptimizer(network: $0, settings: woodbury, seed: 1) })
                    ], data: Self.autoencoderData(), warmup: 400, chunk: 192, chunks: 3)
                r.autoencoderNGD = step[0].microseconds
                r.autoencoderBatch = try runPeer(problem: "autoencoder", method: "batch", samples: 5_000, env: env)
                    .us_per_sample
                if round == 0 {
                    // Slow (about 36 ms per sample), and no target depends on it: once.
                    r.autoencoderOnline = try runPeer(
                        problem: "autoencoder", method: "online", samples: 1_000, env: env
                    ).us_per_sample
                }
            }
            results.append(r)
        }
        progress.done()
        emit(Self.targetTable(results))
        if withPeer { emit(Self.peerSummary(results)) }
    }

    /// One round of the target and peer sections.
    struct Round {
        var targets: [SpeedBench.TargetRow] = []
        var autoencoderNGD: Double?
        var autoencoderBatch: Double?
        var autoencoderOnline: Double?

        func row(_ problem: String, _ method: String) -> SpeedBench.TargetRow? {
            targets.first { $0.problem == problem && $0.method == method }
        }
    }

    /// The fields of the peer's JSON line that the tables use.
    struct PeerResult: Decodable {
        let problem: String
        let method: String
        let us_per_sample: Double
        let samples_to_2x_floor: Int?
        let seconds_to_2x_floor: Double?
    }

    /// The environment of the numpy peer: one BLAS thread, and without the OpenBLAS settings
    /// meant for ngd's own library (said in the output when present).
    func peerEnvironment() throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: peerScript) else {
            throw CommandFailure(
                "the numpy peer \(peerScript) is missing; run from the repository root or pass --peer-script")
        }
        var env = ProcessInfo.processInfo.environment
        let setByNgd = env.removeValue(forKey: BLASCore.priorCoreVariable) != nil
        for key in ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"] where env[key] != nil {
            let origin =
                key == "OPENBLAS_CORETYPE" && setByNgd
                ? "was set by ngd for its own OpenBLAS" : "is set on this machine"
            emit("note: \(key)=\(env[key]!) \(origin); unset for the numpy peer, which uses its own OpenBLAS")
            env.removeValue(forKey: key)
        }
        env["OPENBLAS_NUM_THREADS"] = "1"
        env["OMP_NUM_THREADS"] = "1"
        env["MKL_NUM_THREADS"] = "1"
        return env
    }

    /// Runs the numpy peer once.
    func runPeer(problem: String, method: String, samples: Int, env: [String: String]) throws -> PeerResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", peerScript, "--problem", problem, "--method", method, "--samples", String(samples), "--budget",
            "120",
        ]
        p.environment = env
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0, let r = try? JSONDecoder().decode(PeerResult.self, from: data) else {
            throw CommandFailure("the numpy peer failed on \(problem) \(method): \(errText.suffix(400))")
        }
        return r
    }

    /// The target table: per problem and method, the medians over rounds.
    static func targetTable(_ rounds: [Round]) -> String {
        var rows: [SpeedBench.TargetRow] = []
        for first in rounds[0].targets {
            let all = rounds.compactMap { $0.row(first.problem, first.method) }
            let seconds = all.compactMap(\.secondsToTarget)
            rows.append(
                SpeedBench.TargetRow(
                    problem: first.problem, method: first.method, microseconds: median(all.map(\.microseconds)),
                    samplesToTarget: first.samplesToTarget,
                    secondsToTarget: seconds.count == all.count ? median(seconds) : nil))
        }
        let table = SpeedBench.targetTable(rows)
        return rounds.count == 1
            ? table
            : table.replacingOccurrences(
                of: "training time only)", with: "training time only; medians of \(rounds.count) rounds)")
    }

    /// Same-round ratios of the numpy peer to ngd, their medians, and the rounds' values.
    static func peerSummary(_ rounds: [Round]) -> String {
        var out =
            "ngd against the numpy peer (one BLAS thread each; median of same-round ratios, the rounds' values in brackets)\n"
        func summary(_ values: [Double?]) -> String {
            let known = values.compactMap { $0 }
            guard !known.isEmpty else { return "—" }
            let each = values.map { $0.map { String(format: "%.1f", $0) } ?? "—" }.joined(separator: ", ")
            return String(format: "%.1f×", median(known)) + (values.count > 1 ? " [\(each)]" : "")
        }
        for problem in ["A", "B", "C"] {
            func perSample(_ label: String) -> [Double?] {
                rounds.map { r in
                    guard let online = r.row(problem, onlineLabel), let ngd = r.row(problem, label) else { return nil }
                    return online.microseconds / ngd.microseconds
                }
            }
            func toTarget(_ labels: [String]) -> [Double?] {
                rounds.map { r in
                    guard let batch = r.row(problem, batchLabel)?.secondsToTarget,
                        let best = labels.compactMap({ r.row(problem, $0)?.secondsToTarget }).min()
                    else { return nil }
                    return batch / best
                }
            }
            out +=
                "  \(problem): per sample, numpy online / ngd = \(summary(perSample(smLabel))) (SM), \(summary(perSample(woodburyLabel))) (blocks of 16)\n"
            out += "     time to 2× floor, numpy batch / best ngd = \(summary(toTarget([smLabel, woodburyLabel])))"
            out += "; with factors 1/2: \(summary(toTarget([intervalLabel])))\n"
        }
        let auto = rounds.map { r in r.autoencoderNGD.flatMap { n in r.autoencoderBatch.map { $0 / n } } }
        let ngd = rounds.compactMap(\.autoencoderNGD)
        let batch = rounds.compactMap(\.autoencoderBatch)
        if !ngd.isEmpty, !batch.isEmpty {
            out +=
                "  autoencoder per sample: ngd blocks of 16 \(String(format: "%.0f", median(ngd))) µs, numpy batch NGD "
            out += "\(String(format: "%.0f", median(batch))) µs (numpy batch / ngd = \(summary(auto)))"
            if let online = rounds.compactMap(\.autoencoderOnline).first {
                out += ", numpy online SM-NGD \(String(format: "%.0f", online)) µs"
            }
            out += "\n"
        }
        return out
    }

    /// The autoencoder of the step table and the peer: 784-400-200-100-50-100-200-400-784, tanh.
    static func autoencoder() throws -> Architecture {
        try Architecture(sizes: AutoencoderBench.sizes, hidden: .tanh, bias: true)
    }

    /// 500 random images, each its own target (timing does not depend on the pixels).
    static func autoencoderData() -> [Double] {
        var rng = RandomSource(seed: 5)
        let images = (0..<(500 * 784)).map { _ in Double(rng.next() % 256) / 255 }
        var data: [Double] = []
        for r in 0..<500 {
            let img = images[(r * 784)..<((r + 1) * 784)]
            data += img
            data += img
        }
        return data
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
    static let batchLabel = "numpy batch NGD (M=1000)"
    static let onlineLabel = "numpy online SM-NGD"

    func specs(ngd: NaturalGradientSettings, sgd: Double, adam: Double) -> [(String, (Network) throws -> any Optimizer)]
    {
        var woodbury = ngd
        woodbury.blockSize = woodburyBlock
        var sparse = woodbury
        sparse.factorInterval = 2
        return [
            (Self.smLabel, { try NaturalGradientOptimizer(network: $0, settings: ngd, seed: 1) }),
            (
                "ngd Woodbury (k=\(woodburyBlock))",
                { try NaturalGradientOptimizer(network: $0, settings: woodbury, seed: 1) }
            ),
            (
                "ngd Woodbury (k=\(woodburyBlock)), factors 1/2",
                { try NaturalGradientOptimizer(network: $0, settings: sparse, seed: 1) }
            ),
            (
                "sgd lr=\(sgd)",
                { try SGDOptimizer(network: $0, settings: SGDSettings(learningRate: sgd, blockSize: 1)) }
            ),
            (
                "adam lr=\(adam)",
                { try AdamOptimizer(network: $0, settings: AdamSettings(learningRate: adam, blockSize: 1)) }
            ),
        ]
    }
}
