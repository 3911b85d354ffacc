import ArgumentParser
import Foundation
import NGDBench
import NGDClient
import NGDSystem
import NGDWire
import ZeroMQ

/// `ngd bench soak`: a daemon fed at full rate for minutes, its resident memory and throughput
/// sampled every interval, to show that nothing grows.
struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Feeds a daemon at full rate for N minutes and samples its RSS and throughput at each interval.",
        discussion: """
            Starts `ngd serve` as a child process (the paper's architecture A, 16 linear layers of \
            20, with the daemon's default settings: standardized inputs, blocks of 1, a checkpoint \
            every 60 s, stats every 10 s) and drives it from this process: a PUB producer sends \
            NGD1 messages of --batch samples of the teacher-A stream (10,000 samples cycled), and a \
            subscriber reads every prediction, loss and stats message. Flow control keeps \
            --window messages in flight, counted by the predictions that come back, so the daemon \
            learns as fast as it can and nothing is dropped. Each interval prints the daemon's \
            resident set (VmRSS), the samples learned in it and their rate. At the end the daemon \
            gets SIGTERM and must exit 0 after its final checkpoint.

            The baseline is the first interval: the run fails (exit status 1) when the RSS at any \
            later interval differs from the RSS after the first by more than --max-drift percent, \
            when a prediction is lost, or when the daemon does not stop cleanly.
            """)

    @Option(help: ArgumentHelp("Minutes to run.", valueName: "m")) var minutes = 30.0
    @Option(help: ArgumentHelp("Seconds between samples of RSS and throughput.", valueName: "s")) var interval = 60.0
    @Option(help: ArgumentHelp("Samples per message.", valueName: "k")) var batch = 16
    @Option(help: ArgumentHelp("Messages in flight.", valueName: "n")) var window = 64
    @Option(help: ArgumentHelp("Largest RSS drift after the first interval, in percent.", valueName: "%"))
    var maxDrift = 5.0

    func validate() throws {
        guard minutes >= 0.05, minutes <= 10_080 else { throw ValidationError("--minutes must be in 0.05...10080") }
        guard interval >= 0.5, interval <= 3600 else { throw ValidationError("--interval must be in 0.5...3600") }
        guard interval <= minutes * 60 else { throw ValidationError("--interval must not exceed the run") }
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be in 1...4096") }
        guard (1...900).contains(window) else { throw ValidationError("--window must be in 1...900") }
        guard maxDrift > 0, maxDrift <= 1000 else { throw ValidationError("--max-drift must be in (0, 1000]") }
    }

    /// One row of the table.
    struct Row {
        var seconds: Double
        var rssBytes: Int
        var samples: Int
    }

    func run() throws {
        let state = NSTemporaryDirectory() + "ngd-soak-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let daemon = try ChildDaemon(
            arguments: [
                "--layers", TeacherProblem.Arch.A.sizes.map(String.init).joined(separator: ","), "--activation",
                "identity", "--no-bias", "--state-dir", state, "--checkpoint-interval", "60", "--stats-interval",
                "10",
            ])
        defer { daemon.kill() }
        let problem = TeacherProblem(arch: .A, seed: 0, testCount: 1)
        let client = try DaemonClient(
            input: daemon.endpoints.input, output: daemon.endpoints.output, control: daemon.endpoints.control)
        defer { client.close() }
        try client.sync(topic: "default", inputWidth: problem.train.inputSize)

        emit("Soak: `ngd serve` (A: 16 × 20 linear, NGD, defaults) fed NGD1 messages of \(batch) at full rate")
        emit("window \(window) messages; \(BLASCore.summary)")
        emit("minute   RSS (KiB)   drift vs first   samples learned   samples/s   loss EMA")
        let start = ContinuousClock.now
        let end = start + .seconds(minutes * 60)
        var next = start + .seconds(interval)
        var rows: [Row] = []
        var sent = 0
        var received = 0
        var samples = 0
        var lost = 0
        var lossEMA = Double.nan
        var cursor = 0
        var lastArrival = ContinuousClock.now
        while ContinuousClock.now < end {
            while sent - received < window {
                try client.producer.send(topic: "default", message(problem.train, from: &cursor, id: UInt64(sent)))
                sent += 1
            }
            switch try client.subscriber.next(timeout: .milliseconds(50)) {
            case .prediction(let p)?:
                received += 1
                samples += p.rows.count
                lastArrival = .now
            case .loss(let l)?: lossEMA = l.lossEMA
            case .error(let e)?: throw CommandFailure("the daemon refused a message: \(e.reason)")
            default:
                // A prediction that never comes would stall the window: count it lost after 5 s.
                if ContinuousClock.now - lastArrival > .seconds(5) {
                    lost += sent - received
                    received = sent
                    lastArrival = .now
                }
            }
            if ContinuousClock.now >= next {
                next = next + .seconds(interval)
                guard let rss = ProcessStatus.residentBytes(pid: daemon.pid) else {
                    throw CommandFailure("the daemon is gone (\(daemon.pid))")
                }
                let row = Row(seconds: (ContinuousClock.now - start).seconds, rssBytes: rss, samples: samples)
                emit(line(row, previous: rows.last, first: rows.first, lossEMA: lossEMA))
                rows.append(row)
            }
        }
        let stop = daemon.stop()
        try summary(rows, lost: lost, stop: stop)
    }

    /// The next `batch` samples of `data` (cycled) as one NGD1 message.
    func message(_ data: Dataset, from cursor: inout Int, id: UInt64) -> SampleMessage {
        var x = [Double]()
        var y = [Double]()
        x.reserveCapacity(batch * data.inputSize)
        y.reserveCapacity(batch * data.outputSize)
        for _ in 0..<batch {
            x += data.inputs[(cursor * data.inputSize)..<((cursor + 1) * data.inputSize)]
            y += data.targets[(cursor * data.outputSize)..<((cursor + 1) * data.outputSize)]
            cursor = (cursor + 1) % data.count
        }
        var m = SampleMessage(x: x, y: y, count: batch, id: .u64(id), encoding: .ngd1(.float64))
        m.isBatch = batch > 1
        return m
    }

    func line(_ row: Row, previous: Row?, first: Row?, lossEMA: Double) -> String {
        let learned = row.samples - (previous?.samples ?? 0)
        let seconds = row.seconds - (previous?.seconds ?? 0)
        let drift = first.map {
            String(format: "%+.2f%%", 100 * Double(row.rssBytes - $0.rssBytes) / Double($0.rssBytes))
        }
        return pad(String(format: "%.2f", row.seconds / 60), 6) + pad(String(row.rssBytes / 1024), 12)
            + pad(drift ?? "(baseline)", 17) + pad(String(learned), 18)
            + pad(String(format: "%.0f", Double(learned) / seconds), 12) + pad(String(format: "%.4g", lossEMA), 11)
    }

    func summary(_ rows: [Row], lost: Int, stop: ChildDaemon.Stop) throws {
        guard let first = rows.first, let last = rows.last else { throw CommandFailure("no interval completed") }
        let drifts = rows.dropFirst().map { 100 * Double($0.rssBytes - first.rssBytes) / Double(first.rssBytes) }
        let worst = drifts.max(by: { abs($0) < abs($1) }) ?? 0
        var rates: [Double] = []
        for (a, b) in zip([Row(seconds: 0, rssBytes: 0, samples: 0)] + rows, rows) {
            rates.append(Double(b.samples - a.samples) / (b.seconds - a.seconds))
        }
        rates.sort()
        emit("")
        emit(
            "samples learned: \(last.samples) in \(String(format: "%.1f", last.seconds / 60)) min; samples/s per interval: "
                + "median \(String(format: "%.0f", rates[rates.count / 2])), min \(String(format: "%.0f", rates[0])), "
                + "max \(String(format: "%.0f", rates[rates.count - 1]))")
        emit(
            "RSS: \(first.rssBytes / 1024) KiB after the first interval, \(last.rssBytes / 1024) KiB at the end; "
                + "largest drift after the first interval \(String(format: "%+.2f%%", worst)) (bound ±\(maxDrift)%)")
        emit(
            "predictions lost: \(lost); daemon stop: exit status \(stop.status) in \(String(format: "%.2f", stop.seconds)) s, "
                + "checkpoint \(stop.checkpointBytes.map { "\($0) bytes" } ?? "missing")")
        var failures: [String] = []
        if abs(worst) > maxDrift { failures.append("RSS drifted \(String(format: "%+.2f%%", worst))") }
        if lost > 0 { failures.append("\(lost) predictions lost") }
        if stop.status != 0 { failures.append("the daemon exited with status \(stop.status)") }
        if stop.checkpointBytes == nil { failures.append("no checkpoint after SIGTERM") }
        if !failures.isEmpty { throw CommandFailure("soak failed: " + failures.joined(separator: "; ")) }
    }

}
