import ArgumentParser
import Foundation
import NGDBench
import NGDClient
import NGDMath
import NGDWire
import ZeroMQ

enum WireFormat: String, CaseIterable, ExpressibleByArgument { case json, ngd1 }

enum WireDType: String, CaseIterable, ExpressibleByArgument {
    case f64, f32
    var dtype: NGD1.DType { self == .f64 ? .float64 : .float32 }
}

/// `ngd feed`: a producer for testing and demos.
struct FeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "Stream samples to a daemon from a CSV or NPY file, or from a paper teacher network.",
        discussion: """
            Sends [topic, payload] messages in JSON or NGD1. A file's first --inputs columns are x \
            and the rest y (none: predict-only messages). Example:
              ngd feed --teacher A --count 20000 --rate 2000 --format ngd1
            """)

    @Option(help: ArgumentHelp("Endpoint to connect to (the daemon's input).", valueName: "endpoint")) var to =
        "tcp://127.0.0.1:5555"
    @Option(help: "Socket: pub (for a SUB input) or push (for a PULL input).") var pattern: FeedPattern = .pub
    @Option(help: "Topic, i.e. the model's name.") var topic = "default"
    @Option(help: "Payload encoding.") var format: WireFormat = .json
    @Option(help: "NGD1 value type.") var dtype: WireDType = .f64
    @Option(help: ArgumentHelp("Samples per message.", valueName: "k")) var batch = 1
    @Option(help: ArgumentHelp("Samples per second; 0 sends as fast as possible.", valueName: "n")) var rate = 1000.0
    @Option(help: ArgumentHelp("Samples to send (default: a file's rows, or 10000 from a teacher).", valueName: "n"))
    var count: Int?
    @Option(help: ArgumentHelp("Paper teacher stream: A, B or C (Figure 1).", valueName: "arch")) var teacher: String?
    @Option(help: "Seed of the teacher stream.") var seed: UInt64 = 0
    @Option(help: ArgumentHelp("A CSV file of samples.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("A .npy file (2-D float64 or float32) of samples.", valueName: "file")) var npy: String?
    @Option(help: ArgumentHelp("Input columns of a CSV or NPY file.", valueName: "n")) var inputs: Int?
    @Option(
        help: ArgumentHelp(
            "Seconds to wait after connecting, so that a PUB's first messages are not lost to the subscription handshake.",
            valueName: "s")) var connectDelay = 0.5
    @Flag(help: "Set each message's id to the send time (CLOCK_MONOTONIC, ns), for latency measurements.")
    var stampIds = false
    @Option(
        help: ArgumentHelp(
            "Give up when one message waits this long to be sent (a PUSH to a daemon that is down, full, or refuses the CURVE key).",
            valueName: "s")) var sendTimeout = 10.0
    @OptionGroup(title: "CURVE (for a daemon with [daemon.curve]; this key in its producers directory)")
    var curve: CurveClientOptions

    enum FeedPattern: String, CaseIterable, ExpressibleByArgument { case pub, push }

    func validate() throws {
        let sources = [teacher != nil, csv != nil, npy != nil].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give exactly one of --teacher, --csv or --npy") }
        if let t = teacher, TeacherProblem.Arch(rawValue: t.uppercased()) == nil {
            throw ValidationError("--teacher must be A, B or C")
        }
        if csv != nil || npy != nil, inputs == nil { throw ValidationError("--inputs is required with --csv or --npy") }
        guard (1...1_000_000).contains(batch) else { throw ValidationError("--batch must be in 1...1000000") }
        guard rate >= 0, rate <= 1e9 else { throw ValidationError("--rate must be in 0...1000000000 samples/s") }
        guard sendTimeout >= 0.01, sendTimeout <= 86_400 else {
            throw ValidationError("--send-timeout must be in 0.01...86400 seconds")
        }
        if let c = count, !(1...1_000_000_000).contains(c) {
            throw ValidationError("--count must be in 1...1000000000")
        }
        // A teacher stream is made whole before sending: at most 2²⁶ values (512 MiB).
        if let t = teacher.flatMap({ TeacherProblem.Arch(rawValue: $0.uppercased()) }) {
            let width = t.architecture.inputSize + t.architecture.outputSize
            let most = (1 << 26) / width
            guard (count ?? 10_000) <= most else {
                throw ValidationError(
                    "--count must be at most \(most) for teacher \(t.rawValue) (\(width) values a sample)")
            }
        }
        if let n = inputs, !(1...Architecture.maximumLayerSize).contains(n) {
            throw ValidationError("--inputs must be in 1...\(Architecture.maximumLayerSize)")
        }
    }

    func source() throws -> SampleSource {
        if let t = teacher {
            return .teacher(TeacherProblem.Arch(rawValue: t.uppercased())!, seed: seed, count: count ?? 10_000)
        }
        if let path = csv { return try .csv(path: path, inputs: inputs!) }
        return try .npy(path: npy!, inputs: inputs!)
    }

    func run() throws {
        let src = try source()
        let total = min(count ?? src.count, src.count)
        let ctx = try ZMQContext()
        let producer = try Producer(
            context: ctx, endpoint: to, pattern: pattern == .pub ? .pub : .push, curve: try curve.keys(),
            sendTimeout: .seconds(sendTimeout))
        Thread.sleep(forTimeInterval: connectDelay)
        // A refused CURVE key is final (libzmq does not retry it): say so instead of sending
        // into the void.
        try producer.checkRefusal()
        let start = Date()
        var sent = 0
        var messages = 0
        while sent < total {
            let k = min(batch, total - sent)
            let id = stampIds ? monotonicNanoseconds() : UInt64(messages)
            try producer.send(topic: topic, message(src, from: sent, count: k, id: id))
            sent += k
            messages += 1
            if messages % 1024 == 0 { try producer.checkRefusal() }
            if rate > 0 {
                let due = Double(sent) / rate - Date().timeIntervalSince(start)
                if due > 0 { Thread.sleep(forTimeInterval: due) }
            }
        }
        try producer.checkRefusal()
        let s = Date().timeIntervalSince(start)
        writeStandardError(
            "ngd feed: sent \(sent) samples in \(messages) messages to \(to) topic \(topic) in \(String(format: "%.2f", s)) s\n"
        )
        producer.close()
        ctx.terminate()
    }

    /// Samples `first..<first + k` of `src` as one message (a batch when `--batch` > 1).
    func message(_ src: SampleSource, from first: Int, count k: Int, id: UInt64) -> SampleMessage {
        var x = [Double]()
        var y = [Double]()
        for r in first..<(first + k) {
            let s = src.sample(r)
            x += s.x
            y += s.y
        }
        var m = SampleMessage(
            x: x, y: src.outputWidth > 0 ? y : nil, count: k,
            id: format == .ngd1 ? .u64(id) : .json(.number(Double(id), text: String(id))),
            encoding: format == .ngd1 ? .ngd1(dtype.dtype) : .json)
        m.isBatch = batch > 1
        return m
    }
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
