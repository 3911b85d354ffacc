import ArgumentParser
import Foundation
import NGDWire
import ZeroMQ

/// `ngd tail`: a readable live view of a daemon's output.
struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Subscribe to a daemon's output and print loss, stats and errors as they come.",
        discussion: "Loss is summarised once per --interval per model; stats and errors print as they arrive."
    )

    @Option(help: ArgumentHelp("The daemon's output endpoint.", valueName: "endpoint"))
    var from = "tcp://127.0.0.1:5556"
    @Option(help: ArgumentHelp("Only this model (default: all).", valueName: "name"))
    var model: String?
    @Option(help: ArgumentHelp("Seconds between loss summaries.", valueName: "s"))
    var interval = 1.0
    @Option(help: ArgumentHelp("Stop after this many seconds (default: run until interrupted).", valueName: "s"))
    var duration: Double?
    @Flag(help: "Print every raw message (topic and payload) instead of summaries.")
    var raw = false

    struct Window {
        var messages = 0, samples = 0
        var sse = 0.0
        var seq = 0
        var lossEMA: Double?
    }

    func run() throws {
        guard interval > 0 else { throw ValidationError("--interval must be > 0") }
        let ctx = try ZMQContext()
        let sub = try ZMQSocket(ctx, type: .sub, lingerMilliseconds: 0)
        let suffix = model ?? ""
        for kind in ["loss.", "stats.", "error."] { try sub.subscribe(kind + suffix) }
        try sub.setReceiveTimeout(milliseconds: 100)
        try sub.connect(from)
        writeStandardError("ngd tail: listening on \(from)\(model.map { " for model \($0)" } ?? "")\n")
        var windows: [String: Window] = [:]
        let start = Date()
        var lastPrint = Date()
        while duration.map({ Date().timeIntervalSince(start) < $0 }) ?? true {
            if let f = try sub.receive(), f.count == 2 {
                let topic = String(decoding: f[0], as: UTF8.self)
                if raw {
                    emit("\(topic) \(String(decoding: f[1], as: UTF8.self))")
                } else if let doc = try? JSONValue.parse(f[1]) {
                    handle(topic, doc, &windows)
                }
            }
            if !raw, Date().timeIntervalSince(lastPrint) >= interval {
                lastPrint = Date()
                for name in windows.keys.sorted() where windows[name]!.messages > 0 {
                    let w = windows[name]!
                    emit(
                        "\(timestamp()) loss  \(name)  seq \(w.seq)  mse \(sci(w.sse / Double(max(w.samples, 1))))  loss_ema \(w.lossEMA.map(sci) ?? "-")  (\(w.samples) samples in \(w.messages) messages)"
                    )
                    windows[name] = Window(seq: w.seq, lossEMA: w.lossEMA)
                }
            }
        }
        sub.close()
        ctx.terminate()
    }

    func handle(_ topic: String, _ doc: JSONValue, _ windows: inout [String: Window]) {
        func num(_ k: String) -> Double? { if case .number(let d, _)? = doc[k] { return d } else { return nil } }
        let name: String = { if case .string(let s)? = doc["model"] { return s } else { return "-" } }()
        if topic.hasPrefix("loss.") {
            var w = windows[name] ?? Window()
            let n = Int(num("n") ?? 1)
            w.messages += 1
            w.samples += n
            w.sse += (num("mse") ?? 0) * Double(n)
            w.seq = Int(num("seq") ?? 0)
            w.lossEMA = num("loss_ema")
            windows[name] = w
        } else if topic.hasPrefix("stats.") {
            emit(
                "\(timestamp()) stats \(name)  \(String(format: "%.0f", num("samples_per_s") ?? 0)) samples/s  seq \(Int(num("seq") ?? 0))  loss_ema \(num("loss_ema").map(sci) ?? "-")  damping \(num("damping").map(sci) ?? "-")  rejected \(Int(num("rejected") ?? 0))  checkpoint \(num("checkpoint_age_s").map { String(format: "%.0f s ago", $0) } ?? "never")"
            )
        } else {
            let reason: String = { if case .string(let s)? = doc["reason"] { return s } else { return "?" } }()
            emit("\(timestamp()) error \(name)  \(reason)")
        }
    }

    func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        return f.string(from: Date())
    }
}

/// A number in 3-significant-digit scientific notation.
func sci(_ v: Double) -> String { String(format: "%.3g", v) }
