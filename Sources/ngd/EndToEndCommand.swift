import ArgumentParser
import Foundation
import NGDBench
import NGDClient
import NGDDaemon
import NGDMath
import NGDSystem
import NGDWire
import ZeroMQ

/// `ngd bench e2e`: throughput and latency through a real daemon, with the producer and the
/// subscriber as separate processes (`ngd feed --stamp-ids` and `ngd bench subscriber`).
struct EndToEndCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract:
            "Samples/s learned and published, and sample-to-prediction latency, through `ngd serve` over loopback TCP.",
        discussion: """
            Model: the paper's architecture A (16 linear layers of 20), NGD as in `ngd bench paper`. \
            For each payload format, message size k and model block (samples per natural-gradient \
            step), a fresh daemon, subscriber and producer run as three processes. Throughput counts samples whose prediction reached the subscriber, from \
            the first send to the last receipt. Latency is measured at 10% and 50% of the NGD1 k = 1 \
            peak, from the producer's send stamp to the subscriber's receipt.
            """)

    @Option(help: ArgumentHelp("Samples per throughput run.", valueName: "n")) var samples = 50_000
    @Option(help: ArgumentHelp("Seconds per latency run.", valueName: "s")) var latencySeconds = 4.0
    @Flag(
        help:
            "Run a few configurations both directly and through `ngd proxy` (producer and subscriber on the proxy, the daemon connected to it), side by side."
    ) var viaProxy = false
    @Flag(
        help:
            "Run a few configurations in plain text and with CURVE on every socket (keys made for the run), side by side; with --via-proxy, all four paths."
    ) var curve = false

    func validate() throws {
        guard (1000...100_000_000).contains(samples) else {
            throw ValidationError("--samples must be in 1000...100000000")
        }
        guard latencySeconds >= 0.5, latencySeconds <= 3600 else {
            throw ValidationError("--latency-seconds must be in 0.5...3600")
        }
    }

    struct Result: Decodable {
        let samples: Int
        let messages: Int
        let first_send_ns: Double
        let last_receive_ns: Double
        let p50_us: Double
        let p99_us: Double
        let p999_us: Double
    }

    func run() throws {
        if viaProxy || curve { return try comparePaths() }
        let exe = ProcessStatus.executablePath
        emit("End to end through `ngd serve` (A: 16 × 20 linear, NGD), producer and subscriber in separate processes")
        emit(BLASCore.summary)
        emit("k: samples per message; block: the model's --batch (samples per natural-gradient step);")
        emit(
            "F: its --factor-interval (1 in F blocks updates the Fisher factors; 1, the default, updates them on every block)."
        )
        emit("format  k     block   F   samples sent   received   samples/s learned+published   peak RSS (MiB)")
        var peak = 0.0
        let runs = [
            ("ngd1", 1, 1, 1), ("ngd1", 16, 1, 1), ("ngd1", 16, 16, 1), ("ngd1", 256, 1, 1), ("ngd1", 256, 16, 1),
            ("ngd1", 256, 16, 2), ("json", 1, 1, 1), ("json", 16, 16, 1),
        ]
        for (format, k, block, interval) in runs {
            let n = format == "json" && k == 1 ? min(samples, 20_000) : samples
            let (r, rss) = try session(
                exe: exe, format: format, batch: k, block: block, factorInterval: interval, count: n, rate: 0)
            let rate = Double(r.samples) / ((r.last_receive_ns - r.first_send_ns) / 1e9)
            if format == "ngd1" && k == 1 { peak = rate }
            emit(
                format.padding(toLength: 8, withPad: " ", startingAt: 0)
                    + String(k).padding(toLength: 6, withPad: " ", startingAt: 0) + pad(String(block), 5)
                    + pad(String(interval), 4) + pad(String(n), 15) + pad(String(r.samples), 11)
                    + pad(String(format: "%.0f", rate), 30) + pad(String(format: "%.1f", rss), 17))
        }
        emit("")
        emit("Latency, NGD1 k = 1, sample sent → prediction received (µs)")
        emit("load                     samples/s      p50       p99     p99.9")
        for fraction in [0.1, 0.5] {
            let rate = (peak * fraction).rounded()
            let (r, _) = try session(
                exe: exe, format: "ngd1", batch: 1, block: 1, factorInterval: 1, count: Int(rate * latencySeconds),
                rate: rate)
            emit(
                "\(Int(fraction * 100))% of peak".padding(toLength: 22, withPad: " ", startingAt: 0)
                    + pad(String(format: "%.0f", rate), 12) + pad(String(format: "%.0f", r.p50_us), 9)
                    + pad(String(format: "%.0f", r.p99_us), 10) + pad(String(format: "%.0f", r.p999_us), 10))
        }
    }

    /// One way from producer to subscriber: through a proxy or not, encrypted or not.
    struct Path {
        var proxied: Bool
        var keys: BenchKeys?
        var name: String { (proxied ? "proxy" : "direct") + (keys == nil ? "" : "+curve") }
    }

    /// The same sessions along each path (directly, through `ngd proxy`, with CURVE), with
    /// throughput and latency side by side.
    func comparePaths() throws {
        let exe = ProcessStatus.executablePath
        let keys = curve ? try BenchKeys() : nil
        defer { keys?.remove() }
        var paths = [Path(proxied: false, keys: nil)]
        if viaProxy { paths.append(Path(proxied: true, keys: nil)) }
        if let keys {
            paths.append(Path(proxied: false, keys: keys))
            if viaProxy { paths.append(Path(proxied: true, keys: keys)) }
        }
        emit(
            "End to end through `ngd serve` (A: 16 × 20 linear, NGD) along each path: "
                + paths.map(\.name).joined(separator: ", "))
        emit(BLASCore.summary)
        emit(
            "path          format  k     block   samples/s learned+published   p50 µs   p99 µs  (latency at 10% of the direct peak)"
        )
        for (format, k, block) in [("ngd1", 1, 1), ("ngd1", 16, 16), ("json", 1, 1)] {
            let n = format == "json" ? min(samples, 20_000) : samples
            var peak = 0.0
            for path in paths {
                let (r, _) = try session(
                    exe: exe, format: format, batch: k, block: block, factorInterval: 1, count: n, rate: 0, path: path)
                let rate = Double(r.samples) / ((r.last_receive_ns - r.first_send_ns) / 1e9)
                if peak == 0 { peak = rate }
                let load = (peak * 0.1 / Double(k)).rounded() * Double(k)
                let (l, _) = try session(
                    exe: exe, format: format, batch: k, block: block, factorInterval: 1,
                    count: Int(load * latencySeconds), rate: load, path: path)
                emit(
                    path.name.padding(toLength: 14, withPad: " ", startingAt: 0)
                        + format.padding(toLength: 8, withPad: " ", startingAt: 0)
                        + String(k).padding(toLength: 6, withPad: " ", startingAt: 0) + pad(String(block), 5)
                        + pad(String(format: "%.0f", rate), 30) + pad(String(format: "%.0f", l.p50_us), 9)
                        + pad(String(format: "%.0f", l.p99_us), 9))
            }
        }
    }

    /// One daemon, one subscriber, one producer (and, on a proxied path, an `ngd proxy` between
    /// them; with keys, CURVE on every socket). Returns the subscriber's result and the daemon's
    /// peak RSS.
    func session(
        exe: String, format: String, batch: Int, block: Int, factorInterval: Int, count: Int, rate: Double,
        path: Path = Path(proxied: false, keys: nil)
    ) throws -> (Result, Double) {
        let viaProxy = path.proxied
        let proxy =
            viaProxy
            ? try ChildProxy(executable: exe, extraArguments: ["--hwm", "0"] + (path.keys?.proxyFlags ?? [])) : nil
        defer { proxy?.stop() }
        let proxied = proxy?.endpoints ?? [:]
        let state = NSTemporaryDirectory() + "ngd-e2e-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: state) }
        var arguments = [
            "--layers", TeacherProblem.Arch.A.sizes.map(String.init).joined(separator: ","), "--activation",
            "identity", "--no-bias", "--no-standardize-inputs", "--output-noise", "1e-6", "--batch", String(block),
            "--factor-interval", String(factorInterval), "--state-dir", state, "--checkpoint-interval", "0",
            "--stats-interval", "0", "--receive-hwm", "0", "--send-hwm", "0",
        ]
        if viaProxy {
            arguments += [
                "--input", proxied["to-daemons"]!, "--input-mode", "connect", "--subscribe", "models", "--output",
                proxied["from-daemons"]!, "--output-mode", "connect",
            ]
        }
        arguments += path.keys?.daemonFlags(proxied: viaProxy) ?? []
        let daemon = try ChildDaemon(executable: exe, arguments: arguments)
        defer { daemon.kill() }
        let subscriber = Process()
        subscriber.executableURL = URL(fileURLWithPath: exe)
        subscriber.arguments =
            [
                "bench", "subscriber", "--from", viaProxy ? proxied["output"]! : daemon.endpoints.output, "--expect",
                String(count),
            ] + (path.keys?.clientFlags("subscriber", proxied: viaProxy) ?? [])
        let out = Pipe()
        subscriber.standardOutput = out
        try subscriber.run()
        Thread.sleep(forTimeInterval: 0.5)
        let producer = Process()
        producer.executableURL = URL(fileURLWithPath: exe)
        producer.arguments =
            [
                "feed", "--to", viaProxy ? proxied["input"]! : daemon.endpoints.input, "--teacher", "A", "--count",
                String(count),
                "--batch", String(batch),
                "--format", format, "--rate", String(rate), "--stamp-ids", "--connect-delay", "0.5",
            ] + (path.keys?.clientFlags("producer", proxied: viaProxy) ?? [])
        producer.standardError = FileHandle.nullDevice
        try producer.run()
        producer.waitUntilExit()
        let text = out.fileHandleForReading.readDataToEndOfFile()
        subscriber.waitUntilExit()
        let peakMiB = ProcessStatus.peakResidentBytes(pid: daemon.pid).map { Double($0) / 1_048_576 } ?? .nan
        _ = daemon.stop()
        guard let r = try? JSONDecoder().decode(Result.self, from: text) else {
            throw CommandFailure("the subscriber printed no result: \(String(decoding: text, as: UTF8.self))")
        }
        return (r, peakMiB)
    }
}

/// `ngd bench subscriber`: counts predictions and their latency (hidden helper of `bench e2e`).
struct SubscriberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "subscriber", shouldDisplay: false)

    @Option var from: String
    @Option var expect: Int
    @Option var idleSeconds = 3.0
    @OptionGroup var curve: CurveClientOptions

    func validate() throws {
        guard (1...1_000_000_000).contains(expect) else { throw ValidationError("--expect must be in 1...1000000000") }
        guard idleSeconds >= 0.01, idleSeconds <= 3600 else {
            throw ValidationError("--idle-seconds must be in 0.01...3600")
        }
    }

    func run() throws {
        let ctx = try ZMQContext()
        let sub = try Subscriber(
            context: ctx, endpoint: from, topics: ["prediction."], highWaterMark: 0, curve: try curve.keys())
        var samples = 0
        var messages = 0
        var firstSend = UInt64.max
        var lastReceive: UInt64 = 0
        var latencies: [Double] = []
        latencies.reserveCapacity(min(expect, 1 << 20))
        while samples < expect,
            let (topic, payload) = try sub.nextFrames(timeout: .milliseconds(Int(idleSeconds * 1000)))
        {
            let now = monotonicNanoseconds()
            // `ngd feed --stamp-ids` sets each id to the send time.
            guard let p = try? PredictionMessage.decode(payload, model: topic) else { continue }
            var id: UInt64 = 0
            switch p.id {
            case .u64(let n): id = n
            case .json(.number(_, let text)): id = UInt64(text) ?? 0
            case .json: break
            case .none: break
            }
            samples += p.rows.count
            messages += 1
            firstSend = min(firstSend, id)
            lastReceive = now
            latencies.append(Double(now &- id) / 1000)
        }
        latencies.sort()
        func pct(_ q: Double) -> Double {
            latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(q * Double(latencies.count)))]
        }
        print(
            #"{"samples":\#(samples),"messages":\#(messages),"first_send_ns":\#(firstSend),"last_receive_ns":\#(lastReceive),"p50_us":\#(pct(0.5)),"p99_us":\#(pct(0.99)),"p999_us":\#(pct(0.999))}"#
        )
    }
}

/// Key pairs for a CURVE run of `ngd bench e2e`, made with `ngd keygen`'s code in a scratch
/// directory: the daemon's and the proxy's, and one client per directory (producers,
/// subscribers, admins; the daemon's own pair sits in daemons/).
struct BenchKeys {
    let dir: String

    init() throws {
        dir = NSTemporaryDirectory() + "ngd-e2e-keys-\(getpid())"
        for (name, sub) in [
            ("daemon", "daemons"), ("proxy", "proxy"), ("producer", "producers"), ("subscriber", "subscribers"),
            ("admin", "admins"),
        ] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
            do { _ = try CurveCertificate.generate(name: name, directory: "\(dir)/\(sub)") } catch {
                throw CommandFailure("\(error)")
            }
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    var proxyFlags: [String] {
        [
            "--curve-server-key", "\(dir)/proxy/proxy.key_secret", "--curve-producers", "\(dir)/producers",
            "--curve-daemons", "\(dir)/daemons", "--curve-subscribers", "\(dir)/subscribers", "--curve-admins",
            "\(dir)/admins",
        ]
    }

    /// A daemon that is the CURVE server of its clients, or (proxied) a client of the proxy.
    func daemonFlags(proxied: Bool) -> [String] {
        ["--curve-server-key", "\(dir)/daemons/daemon.key_secret", "--curve-admins", "\(dir)/admins"]
            + (proxied
                ? ["--curve-proxy-key", "\(dir)/proxy/proxy.key"]
                : ["--curve-producers", "\(dir)/producers", "--curve-subscribers", "\(dir)/subscribers"])
    }

    /// `ngd feed` or `ngd bench subscriber` as `name` (producer, subscriber).
    func clientFlags(_ name: String, proxied: Bool) -> [String] {
        [
            "--curve-server-key", proxied ? "\(dir)/proxy/proxy.key" : "\(dir)/daemons/daemon.key", "--curve-key",
            "\(dir)/\(name)s/\(name).key_secret",
        ]
    }
}
