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

    @Option(help: ArgumentHelp("Sections to run: kernels, steps.", valueName: "list"))
    var only = "kernels,steps"
    @Option(help: ArgumentHelp("Factor dimensions n for the kernel table.", valueName: "list"))
    var sizes = "21,101,401,785"
    @Option(help: ArgumentHelp("Vectors per update k for the kernel table (1 = Sherman–Morrison).", valueName: "list"))
    var blocks = "1,4,16,64"
    @Option(help: ArgumentHelp("Largest n at which the naive reference is timed.", valueName: "n"))
    var naiveUpTo = 1000
    @Option(help: ArgumentHelp("Timed chunks per optimizer in the step table.", valueName: "n"))
    var chunks = 7

    func ints(_ s: String, _ name: String) throws -> [Int] {
        let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) >= 1 }) else { throw ValidationError("--\(name) must be a comma-separated list of positive integers") }
        return v.map { $0! }
    }

    func run() throws {
        let sections = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        guard sections.isSubset(of: ["kernels", "steps"]), !sections.isEmpty else { throw ValidationError("--only takes kernels and/or steps") }
        let progress = Progress()
        if sections.contains("kernels") {
            let rows = SpeedBench.kernels(sizes: try ints(sizes, "sizes"), blocks: try ints(blocks, "blocks"), naiveUpTo: naiveUpTo) {
                progress.show($0)
            }
            progress.done()
            emit(SpeedBench.kernelTable(rows))
        }
        if sections.contains("steps") {
            var rows: [SpeedBench.StepRow] = []
            // Figure 1A: 16 linear layers of 20, the paper bench's settings.
            let a = TeacherProblem(arch: .A, seed: 0, trainCount: 2000, testCount: 1)
            rows += try SpeedBench.steps(
                problem: "A 16×20", architecture: TeacherProblem.Arch.A.architecture,
                specs: specs(ngd: PaperBench.defaultNGD, sgd: 0.01, adam: 3e-4),
                data: interleave(a.train), warmup: 400, chunk: 208, chunks: chunks) { progress.show($0) }
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
            progress.done()
            emit(SpeedBench.stepTable(rows))
        }
    }

    func interleave(_ d: Dataset) -> [Double] {
        var out: [Double] = []
        for r in 0..<d.count {
            out += d.inputs[(r * d.inputSize)..<((r + 1) * d.inputSize)]
            out += d.targets[(r * d.outputSize)..<((r + 1) * d.outputSize)]
        }
        return out
    }

    func specs(ngd: NaturalGradientSettings, sgd: Double, adam: Double) -> [(String, (Network) throws -> any Optimizer)] {
        var woodbury = ngd
        woodbury.blockSize = 16
        return [
            ("ngd Sherman–Morrison (k=1)", { try NaturalGradientOptimizer(network: $0, settings: ngd, seed: 1) }),
            ("ngd Woodbury (k=16)", { try NaturalGradientOptimizer(network: $0, settings: woodbury, seed: 1) }),
            ("sgd lr=\(sgd)", { try SGDOptimizer(network: $0, settings: SGDSettings(learningRate: sgd, blockSize: 1)) }),
            ("adam lr=\(adam)", { try AdamOptimizer(network: $0, settings: AdamSettings(learningRate: adam, blockSize: 1)) }),
        ]
    }
}
