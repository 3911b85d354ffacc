import ArgumentParser
import Foundation
import NGDBench
import NGDMath
import NGDSystem

#if canImport(Glibc)
import Glibc
#endif

/// `ngd bench …`: reproducible comparisons of NGD, SGD and Adam.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Benchmarks: learning against SGD and Adam (paper, autoencoder), speed, and end to end through the daemon.",
        subcommands: [
            PaperCommand.self, AutoencoderCommand.self, StreamsCommand.self, SpeedCommand.self, EndToEndCommand.self,
            SoakCommand.self, SubscriberCommand.self,
        ])
}

/// "paper: x; autoencoder: y", for help texts.
private func perBench<T>(_ paper: T, _ autoencoder: T, _ show: (T) -> String) -> String {
    let p = show(paper)
    let a = show(autoencoder)
    return p == a ? p : "paper \(p); autoencoder \(a)"
}

private func rates(_ r: [Double]) -> String { r.map { "\($0)" }.joined(separator: " ") }

extension SettingFlags {
    /// The NGD settings flags of a bench whose NGD defaults are `defaults` (paper, autoencoder).
    static func ngdSpecs(defaults: [NaturalGradientSettings]) -> [FlagSpec] {
        NaturalGradientSettings.settings.map { FlagSpec($0, defaults: defaults) }
    }

    /// Applies the given NGD flags to `settings` and checks the result; on an error `settings`
    /// is unchanged.
    /// - Throws: ``ValidationError`` naming the flag.
    func apply(to settings: inout NaturalGradientSettings) throws {
        var s = settings
        let table = Dictionary(
            NaturalGradientSettings.settings.map { ($0.name.flag, $0) }, uniquingKeysWith: { first, _ in first })
        for (flag, value) in try values(Self.ngdSpecs(defaults: [s])) {
            do { try table[flag]?.set(value, in: &s) } catch { throw ValidationError("\(flag): \(error.problem)") }
        }
        do { try s.validate() } catch {
            guard case .invalidSetting(let setting, let value, let reason) = error else {
                throw ValidationError("\(error)")
            }
            throw ValidationError("\(setting.flag) \(value): \(reason)")
        }
        settings = s
    }
}

/// The NGD-settings section of a bench's `--help`.
private func ngdHelp() -> String {
    FlagSpec.helpSection(
        "NGD SETTINGS (as for `ngd serve`; defaults: paper, autoencoder):",
        SettingFlags.ngdSpecs(defaults: [PaperBench.defaultNGD, AutoencoderBench.defaultNGD]))
}

/// Options shared by both benches.
struct GridOptions: ParsableArguments {
    @Option(
        name: .customLong("sgd-lr"), parsing: .upToNextOption,
        help:
            "SGD learning rates to try (default: \(perBench(PaperBench.defaultSGDRates, AutoencoderBench.defaultSGDRates, rates)))."
    ) var sgdRates: [Double] = []
    @Option(
        name: .customLong("adam-lr"), parsing: .upToNextOption,
        help:
            "Adam learning rates to try (default: \(perBench(PaperBench.defaultAdamRates, AutoencoderBench.defaultAdamRates, rates)))."
    ) var adamRates: [Double] = []
    @Option(
        name: .customLong("grid-batch"), help: "SGD and Adam mini-batch size M (default: 1, one update per sample).")
    var batch: Int?
    @Option(name: .customLong("only"), help: "Run only these optimizers, comma-separated: ngd,sgd,adam.") var only:
        String?
    @Flag(name: .customLong("json"), help: "Print one JSON object per optimizer and checkpoint instead of a table.")
    var json = false

    func optimizers() throws -> Set<String> {
        guard let only else { return ["ngd", "sgd", "adam"] }
        let names = Set(only.split(separator: ",").map { $0.trimmingCharacters() })
        let unknown = names.subtracting(["ngd", "sgd", "adam"])
        guard unknown.isEmpty, !names.isEmpty else {
            throw ValidationError("--only takes ngd, sgd and adam; got \(only)")
        }
        return names
    }

    func validate() throws {
        if let b = batch, !(1...4096).contains(b) {
            throw ValidationError("--grid-batch must be in 1...4096, got \(b)")
        }
        for r in sgdRates + adamRates where !(r > 0 && r.isFinite) {
            throw ValidationError("learning rates must be positive numbers, got \(r)")
        }
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}

/// A failure while running a command (not a usage mistake): ArgumentParser prints
/// `Error: <description>` without the usage text, and exits with status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writes `text` to standard error, unbuffered.
func writeStandardError(_ text: String) { FileIO.emit(text, to: 2) }

/// `s` right-aligned in `n` columns, for benchmark tables.
func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }

/// Writes `line` and a newline to standard output, unbuffered (so a pipe sees it at once).
func emit(_ line: String) { FileIO.emit(line + "\n", to: 1) }

/// Progress on standard error, overwriting one line when it is a terminal.
struct Progress {
    let isTerminal = isatty(2) != 0
    func show(_ line: String) { writeStandardError(isTerminal ? "\r\u{1B}[K" + line : line + "\n") }
    func done() { if isTerminal { writeStandardError("\r\u{1B}[K") } }
}

struct PaperCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paper", abstract: "Figure 1A–C: deep linear teacher networks, NGD vs SGD and Adam.",
        discussion: """
            Builds the paper's problem (correlated inputs, a teacher of the same architecture, \
            noise σ² = 1e-6, 10⁴ training samples cycled and reshuffled, 10³ test samples) and \
            streams it through NGD, SGD over a learning-rate grid and Adam over a grid, from \
            the same initial weights. Prints test mse at 1k, 2k, 5k, 10k and 20k samples \
            (more with --samples) and each run's training time per sample.
            """ + "\n\n" + ngdHelp())

    @Option(help: "Architecture: A (16×20), B (20…100…20), C (bottleneck 200…2…200).") var arch: String = "A"
    @Option(name: .customLong("seed"), help: "Problem seed; repeat for several (--seed 0 --seed 1).") var seeds:
        [UInt64] = [0]
    @Option(help: "Samples streamed per optimizer.") var samples: Int = 20_000
    @OptionGroup var grid: GridOptions
    @OptionGroup var ngd: SettingFlags

    func validate() throws {
        var s = PaperBench.defaultNGD
        try ngd.apply(to: &s)
        guard TeacherProblem.Arch(rawValue: arch.uppercased()) != nil else {
            throw ValidationError("--arch must be A, B or C, got \(arch)")
        }
        guard (1...100_000_000).contains(samples) else { throw ValidationError("--samples must be in 1...100000000") }
    }

    func run() throws {
        var bench = PaperBench(arch: TeacherProblem.Arch(rawValue: arch.uppercased())!, seeds: seeds, samples: samples)
        try ngd.apply(to: &bench.ngd)
        if !grid.sgdRates.isEmpty { bench.sgdRates = grid.sgdRates }
        if !grid.adamRates.isEmpty { bench.adamRates = grid.adamRates }
        if let b = grid.batch { bench.batch = b }
        bench.optimizers = try grid.optimizers()
        let progress = Progress()
        for seed in seeds {
            var one = bench
            one.seeds = [seed]
            let results = try one.run(progress: progress.show)
            progress.done()
            for r in results {
                if grid.json { for line in one.jsonLines(r) { print(line) } } else { print(one.table(r) + "\n") }
            }
        }
    }
}

struct AutoencoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autoencoder",
        abstract: "Figure 1D on Fashion-MNIST: a 784-400-200-100-50-100-200-400-784 tanh autoencoder.",
        discussion: """
            Streams the 60,000 Fashion-MNIST training images once, in a seeded shuffled order, \
            through NGD, SGD over a learning-rate grid and Adam over a grid, all from the same \
            initial weights, and reports test mse on the 10,000 test images at 10k, 20k and 60k \
            samples, with each run's training time per sample. Reads Debian's \
            dataset-fashion-mnist package by default: `bash scripts/install-deps \
            dataset-fashion-mnist` installs it.
            """ + "\n\n" + ngdHelp())

    @Option(help: "Directory holding the Fashion-MNIST IDX files.") var data: String = FashionMNIST.defaultDirectory
    @Option(help: "Seed of the initial weights, the training order and NGD's sampled targets.") var seed: UInt64 = 0
    @Option(help: "Samples streamed per optimizer (one pass is 60,000).") var samples: Int = 60_000
    @Option(name: .customLong("test-images"), help: "Test images used for the test mse (at most 10,000).")
    var testImages: Int = 10_000
    @OptionGroup var grid: GridOptions
    @OptionGroup var ngd: SettingFlags

    func validate() throws {
        var s = AutoencoderBench.defaultNGD
        try ngd.apply(to: &s)
        guard (1...100_000_000).contains(samples) else { throw ValidationError("--samples must be in 1...100000000") }
        guard (1...10_000).contains(testImages) else { throw ValidationError("--test-images must be in 1...10000") }
    }

    func run() throws {
        let progress = Progress()
        if data == FashionMNIST.defaultDirectory,
            !FileManager.default.fileExists(atPath: data + "/" + FashionMNIST.trainImages)
        {
            throw CommandFailure(
                "Fashion-MNIST is not installed at \(data): run `bash scripts/install-deps dataset-fashion-mnist`, "
                    + "or pass --data DIR")
        }
        var bench = AutoencoderBench()
        bench.directory = data
        bench.seed = seed
        bench.samples = samples
        bench.testCount = testImages
        try ngd.apply(to: &bench.ngd)
        if !grid.sgdRates.isEmpty { bench.sgdRates = grid.sgdRates }
        if !grid.adamRates.isEmpty { bench.adamRates = grid.adamRates }
        if let b = grid.batch { bench.batch = b }
        bench.optimizers = try grid.optimizers()
        let runs: [BenchRun]
        do { runs = try bench.run(progress: progress.show) } catch let e as DatasetError {
            progress.done()
            throw CommandFailure(
                "\(e)"
                    + (data == FashionMNIST.defaultDirectory
                        ? "; reinstall Debian's dataset-fashion-mnist package"
                        : "; --data must name a directory holding \(FashionMNIST.trainImages) and \(FashionMNIST.testImages)")
            )
        }
        progress.done()
        if grid.json {
            for line in BenchReport.jsonLines(runs, extra: [("bench", "\"autoencoder\""), ("seed", "\(seed)")]) {
                print(line)
            }
        } else {
            print(bench.table(runs))
        }
    }
}
