import ArgumentParser
import Foundation
import Logging
import NGDBench
import NGDClient
import NGDDaemon
import NGDMath
import NGDSystem
import NGDWire
import ZeroMQ

/// `ngd demo`: the daemon learning a live stream, NGD beside SGD.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Start a daemon on free loopback ports, stream the paper's Figure 1A teacher to an NGD and an SGD model, and show both learn.",
        discussion: """
            Everything runs in this process: a real daemon (the same serve loop as `ngd serve`), a \
            producer that sends every sample to both models' topics in NGD1, and a subscriber that \
            reads their loss messages. The verdict counts the samples each model needed before its \
            running mse (an average over the last ~100 samples, measured before learning each one) \
            fell below --target.
            """)

    @Option(help: ArgumentHelp("Samples to stream.", valueName: "n")) var samples = 20_000
    @Option(help: ArgumentHelp("Samples per second; 0 is as fast as the daemon learns.", valueName: "n")) var rate =
        2_000.0
    @Option(help: "Seed of the teacher, the stream and both students' initial weights.") var seed: UInt64 = 0
    @Option(
        help: ArgumentHelp(
            "The loss target for the verdict, a running mse (default: 2× the noise floor, the paper's Figure 1 criterion).",
            valueName: "mse")) var target: Double?
    @Option(help: ArgumentHelp("NGD's step-schedule scale η (the default, 1, is Fisher-efficient).", valueName: "η"))
    var ngdLr = NaturalGradientSettings().learningRate
    @Option(help: ArgumentHelp("SGD learning rate (the best of `ngd bench paper --arch A`'s grid).", valueName: "η"))
    var sgdLr = 0.01
    @Option(
        help: ArgumentHelp(
            "Also write the learning curves (running mse against samples, log scale, with the target) as an SVG.",
            valueName: "file.svg")) var plot: String?

    func validate() throws {
        guard (100...100_000_000).contains(samples) else {
            throw ValidationError("--samples must be in 100...100000000")
        }
        guard rate >= 0, rate <= 1e7 else { throw ValidationError("--rate must be in 0...10000000 samples/s") }
        if let t = target, !(t > 0) { throw ValidationError("--target must be > 0") }
    }

    /// The two models: the paper's 16-layer linear student, NGD and SGD, same initial weights.
    func config(stateDirectory: String) -> DaemonConfig {
        var c = DaemonConfig()
        c.input = "tcp://127.0.0.1:*"
        c.output = "tcp://127.0.0.1:*"
        c.control = "tcp://127.0.0.1:*"
        c.stateDirectory = stateDirectory
        c.checkpointInterval = 0
        c.statsInterval = 0
        c.receiveHighWaterMark = 0
        for kind in [OptimizerKind.ngd, .sgd] {
            var m = ModelConfig(name: kind.rawValue, layers: TeacherProblem.Arch.A.sizes)
            m.activation = .identity
            m.bias = false
            // As in the paper (and `ngd bench paper`): the inputs are already standardized.
            m.standardizeInputs = false
            m.outputNoise = PaperBench.defaultNGD.outputVariance
            m.optimizer = kind
            m.ngd.learningRate = ngdLr
            m.sgd.learningRate = sgdLr
            m.seed = seed &+ 1
            c.models.append(m)
        }
        return c
    }

    func run() throws {
        let problem = TeacherProblem(arch: .A, seed: seed, trainCount: samples, testCount: 1000)
        let stateDir = NSTemporaryDirectory() + "ngd-demo-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: stateDir) }
        let config = config(stateDirectory: stateDir)
        try config.validate()
        var logger = Logger(label: "ngd-demo") { JournalLogHandler(label: $0, level: .warning, journal: false) }
        logger.logLevel = .warning
        let registry = try ModelRegistry(config: config, logger: logger)
        let loop = ServeLoop(config: config, registry: registry, logger: logger)
        let endpoints = Locked<(String, String, String)?>(nil)
        loop.onReady = { i, o, c in endpoints.withLock { $0 = (i, o, c) } }
        let stop = StopSignal()
        let finished = DispatchSemaphore(value: 0)
        let failure = Locked<(any Error)?>(nil)
        loop.start(stop: stop) { result in
            if case .failure(let error) = result { failure.withLock { $0 = error } }
            finished.signal()
        }
        defer {
            stop.request()
            finished.wait()
        }
        var ready: (String, String, String)?
        for _ in 0..<500 where ready == nil {
            if let e = failure.value { throw CommandFailure("the daemon failed to start: \(e)") }
            ready = endpoints.value
            if ready == nil { Thread.sleep(forTimeInterval: 0.01) }
        }
        guard let (input, output, control) = ready else { throw CommandFailure("the daemon did not start within 5 s") }
        emit("ngd demo: a daemon on \(input) (input), \(output) (output), \(control) (control)")
        emit(
            "stream: the paper's Figure 1A teacher (16 linear layers of 20, σ² = 1e-6), \(samples) samples, \(rate > 0 ? "\(Int(rate)) samples/s" : "as fast as possible")"
        )
        emit(
            "models: ngd (online natural gradient, default settings\(ngdLr == NaturalGradientSettings().learningRate ? "" : ", η = \(ngdLr)")) and sgd (η = \(sgdLr)), same initial weights, same samples"
        )
        let goal = target ?? 2 * problem.floor
        emit(
            "target: running mse ≤ \(sci(goal))\(target == nil ? " (2× the noise floor \(sci(problem.floor)))" : ""); the running mse averages ~100 samples, each predicted before it is learned\n"
        )
        let client = try DaemonClient(
            input: input, output: output, control: control, topics: ["loss.", "prediction.ngd"],
            controlTimeout: .seconds(30))
        defer { client.close() }
        try client.sync(topic: "ngd", inputWidth: problem.train.inputSize)
        let thresholds = ([1e-2, 1e-3, 1e-4, 1e-5].filter { $0 > goal }) + [goal]
        let result = try stream(problem, client, thresholds: thresholds)
        try report(result, problem, client, thresholds: thresholds)
        if let plot {
            let svg = try LearningCurveSVG(
                title: "ngd demo: the Figure 1A stream (16 linear layers of 20), NGD and SGD (η = \(sgdLr))",
                yLabel: "running mse (log scale)",
                series: ["ngd", "sgd"].map { LearningCurveSVG.Series(name: $0, points: result[$0]!.curve) },
                references: [("target \(sci(goal))", goal), ("noise floor \(sci(problem.floor))", problem.floor)]
            ).render()
            do { try svg.write(toFile: plot, atomically: true, encoding: .utf8) } catch {
                throw CommandFailure("cannot write \(plot): \(error.localizedDescription)")
            }
            emit("learning curves: \(plot)")
        }
    }

    struct Track {
        var ema: Double?
        /// The running mse at the first loss message, before any learning.
        var initial: Double?
        var seq = 0
        /// The seq at which the running mse first fell to each threshold.
        var reached: [Double: Int] = [:]
        /// (seq, running mse) after every loss message, for --plot.
        var curve: [(x: Double, y: Double)] = []
    }

    func stream(_ problem: TeacherProblem, _ client: DaemonClient, thresholds: [Double]) throws -> [String: Track] {
        var tracks = ["ngd": Track(), "sgd": Track()]
        let nx = problem.train.inputSize
        let ny = problem.train.outputSize
        let live = LiveLine()
        let start = Date()
        var lastShow = Date.distantPast
        func absorb() throws {
            while let message = try client.subscriber.next(timeout: nil) {
                // The daemon writes a non-finite mse as null, which reads as NaN: count it as ∞.
                guard case .loss(let l) = message else { continue }
                let (model, seq, mse) = (l.model, l.seq, l.mse.isNaN ? Double.infinity : l.mse)
                var t = tracks[model] ?? Track()
                t.ema = t.ema.map { 0.99 * $0 + 0.01 * mse } ?? mse
                if t.initial == nil { t.initial = t.ema }
                t.seq = seq
                if plot != nil { t.curve.append((Double(seq), t.ema!)) }
                // Count from 100 samples on, so that one lucky sample cannot meet the target.
                for th in thresholds where t.reached[th] == nil && seq >= 100 && t.ema! <= th { t.reached[th] = seq }
                tracks[model] = t
            }
        }
        func show(_ sent: Int) {
            let rate = Double(sent) / max(Date().timeIntervalSince(start), 1e-9)
            func col(_ m: String) -> String {
                let t = tracks[m]!
                let mark = t.reached[thresholds.last!] != nil ? " ✓" : ""
                return "\(m) mse \(t.ema.map(sci) ?? "-")\(mark)"
            }
            live.show("  \(sent)/\(samples) samples  |  \(col("ngd"))  |  \(col("sgd"))  |  \(Int(rate)) samples/s")
        }
        for r in 0..<samples {
            let x = Array(problem.train.inputs[(r * nx)..<((r + 1) * nx)])
            let y = Array(problem.train.targets[(r * ny)..<((r + 1) * ny)])
            let message = SampleMessage(x: x, y: y, count: 1, id: .u64(UInt64(r)), encoding: .ngd1(.float64))
            try client.producer.send(topic: "ngd", message)
            try client.producer.send(topic: "sgd", message)
            try absorb()
            if rate > 0 {
                let due = Double(r + 1) / rate - Date().timeIntervalSince(start)
                if due > 0 { Thread.sleep(forTimeInterval: due) }
            }
            if Date().timeIntervalSince(lastShow) >= 0.25 {
                lastShow = Date()
                show(r + 1)
            }
        }
        // Wait for the daemon to finish the queue.
        let deadline = Date().addingTimeInterval(60)
        while tracks.values.contains(where: { $0.seq < samples }) && Date() < deadline {
            try absorb()
            Thread.sleep(forTimeInterval: 0.01)
        }
        show(samples)
        live.finish()
        return tracks
    }

    func report(
        _ tracks: [String: Track], _ problem: TeacherProblem, _ client: DaemonClient, thresholds: [Double]
    ) throws {
        let testMSE = try ["ngd", "sgd"].map { m -> Double in
            let width = problem.test.inputSize
            let rows = (0..<problem.test.count).map { Array(problem.test.inputs[($0 * width)..<(($0 + 1) * width)]) }
            let yHat = try client.control.predict(model: m, rows: rows).flatMap { $0 }
            var s = 0.0
            for (a, b) in zip(yHat, problem.test.targets) { s += (a - b) * (a - b) }
            return s / Double(problem.test.targets.count)
        }
        emit("")
        emit("samples until the running mse ≤" + thresholds.map { pad(sci($0), 10) }.joined())
        for m in ["ngd", "sgd"] {
            emit(
                m + String(repeating: " ", count: 30 - m.count)
                    + thresholds.map { pad(tracks[m]!.reached[$0].map(String.init) ?? "—", 10) }.joined())
        }
        func held(_ v: Double, _ digits: Int) -> String {
            v.isFinite ? "\(sci(v)) (\(String(format: "%.\(digits)f", v / problem.floor))× floor)" : "non-finite"
        }
        emit(
            "held-out test mse (1000 samples, after the stream): ngd \(held(testMSE[0], 2)), sgd \(held(testMSE[1], 0))"
        )
        let goal = thresholds.last!
        let n = tracks["ngd"]!
        let s = tracks["sgd"]!
        /// Why a model missed the target: it diverged, or where its running mse ended.
        func miss(_ name: String, _ t: Track, lr: Double) -> String {
            let end = t.ema ?? .nan
            if Self.diverged(t) {
                return
                    "\(name) (η = \(lr)) diverged: its running mse went from \(sci(t.initial ?? .nan)) to \(end.isFinite ? sci(end) : "non-finite")"
            }
            return
                "\(name) did not in \(samples) (its running mse ended at \(sci(end)), \(String(format: "%.0f", end / goal))× the target)"
        }
        let verdict: String
        switch (n.reached[goal], s.reached[goal]) {
        case let (a?, b?):
            verdict =
                "verdict: NGD reached mse ≤ \(sci(goal)) after \(a) samples, SGD after \(b): \(String(format: "%.1f", Double(b) / Double(a)))× fewer samples with NGD"
        case let (a?, nil):
            verdict = "verdict: NGD reached mse ≤ \(sci(goal)) after \(a) samples; " + miss("SGD", s, lr: sgdLr)
        case let (nil, b?):
            verdict = "verdict: SGD reached mse ≤ \(sci(goal)) after \(b) samples; " + miss("NGD", n, lr: ngdLr)
        case (nil, nil):
            verdict =
                "verdict: neither reached mse ≤ \(sci(goal)) in \(samples) samples; " + miss("NGD", n, lr: ngdLr) + "; "
                + miss("SGD", s, lr: sgdLr)
        }
        emit(verdict)
    }

    /// A run diverged when its running mse is not finite or ended above 10× where it started.
    static func diverged(_ t: Track) -> Bool {
        guard let end = t.ema else { return false }
        return !end.isFinite || end > 10 * (t.initial ?? .infinity)
    }
}

/// A progress line on standard output: redrawn in place on a terminal, else printed every 2 s.
final class LiveLine {
    let isTerminal = isatty(1) != 0
    private var last = Date.distantPast
    private var pending: String?

    func show(_ line: String) {
        if isTerminal {
            FileIO.emit("\r\u{1B}[K" + line, to: 1)
        } else if Date().timeIntervalSince(last) >= 2 {
            last = Date()
            emit(line)
            pending = nil
            return
        }
        pending = line
    }

    func finish() { if isTerminal { FileIO.emit("\n", to: 1) } else if let p = pending { emit(p) } }
}
