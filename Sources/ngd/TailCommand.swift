import ArgumentParser
import Foundation
import NGDClient
import NGDWire
import ZeroMQ

/// `ngd tail`: a readable live view of a daemon's output.
struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail", abstract: "Subscribe to a daemon's output and print loss, stats and errors as they come.",
        discussion: "Loss is summarised once per --interval per model; stats and errors print as they arrive.")

    @Option(help: ArgumentHelp("The daemon's output endpoint.", valueName: "endpoint")) var from =
        "tcp://127.0.0.1:5556"
    @Option(help: ArgumentHelp("Only this model (default: all).", valueName: "name")) var model: String?
    @Option(help: ArgumentHelp("Seconds between loss summaries.", valueName: "s")) var interval = 1.0
    @Option(help: ArgumentHelp("Stop after this many seconds (default: run until interrupted).", valueName: "s"))
    var duration: Double?
    @Flag(help: "Print every raw message (topic and payload) instead of summaries.") var raw = false
    @Option(
        help: ArgumentHelp(
            "Also append every loss message to this file, one JSON object a line (for `ngd plot`).",
            valueName: "file.jsonl")) var record: String?
    @Option(
        help: ArgumentHelp(
            "Also print an `ngd proxy`'s statistics each --interval, from its control endpoint (with CURVE, the proxy's admins list --curve-key).",
            valueName: "endpoint")
    )
    var proxy: String?
    @OptionGroup(title: "CURVE (for a daemon with [daemon.curve]; this key in its subscribers directory)")
    var curve: CurveClientOptions

    struct Window {
        var messages = 0, samples = 0
        var sse = 0.0
        var seq = 0
        var lossEMA: Double?
    }

    func run() throws {
        guard interval > 0 else { throw ValidationError("--interval must be > 0") }
        let ctx = try ZMQContext()
        let suffix = model ?? ""
        let keys = try curve.keys()
        let sub = try Subscriber(
            context: ctx, endpoint: from, topics: ["loss.", "stats.", "error."].map { $0 + suffix }, curve: keys)
        var recording: FileHandle?
        if let record {
            if !FileManager.default.fileExists(atPath: record) {
                _ = FileManager.default.createFile(atPath: record, contents: nil)
            }
            guard let h = FileHandle(forWritingAtPath: record) else { throw CommandFailure("cannot write \(record)") }
            _ = try h.seekToEnd()
            recording = h
        }
        defer { try? recording?.close() }
        writeStandardError("ngd tail: listening on \(from)\(model.map { " for model \($0)" } ?? "")\n")
        var windows: [String: Window] = [:]
        var proxyStats = ProxyStatistics(endpoint: proxy, context: ctx, curve: keys)
        let start = Date()
        var lastPrint = Date()
        while duration.map({ Date().timeIntervalSince(start) < $0 }) ?? true {
            if let (topic, payload) = try sub.nextFrames(timeout: .milliseconds(100)) {
                if let recording, topic.hasPrefix("loss.") { try recording.write(contentsOf: payload + [0x0A]) }
                if raw {
                    emit("\(topic) \(String(decoding: payload, as: UTF8.self))")
                } else if let message = try? OutputMessage.decode(topic: topic, payload: payload) {
                    handle(message, &windows)
                } else {
                    emit("\(timestamp()) ?     \(topic) (undecodable payload of \(payload.count) bytes)")
                }
            }
            // A refused CURVE key is final: stop with the reason rather than wait in silence.
            try sub.checkRefusal()
            if !raw, Date().timeIntervalSince(lastPrint) >= interval {
                lastPrint = Date()
                if let line = proxyStats.line() { emit("\(timestamp()) proxy \(line)") }
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
        proxyStats.close()
        ctx.terminate()
    }

    func handle(_ message: OutputMessage, _ windows: inout [String: Window]) {
        switch message {
        case .loss(let l):
            var w = windows[l.model] ?? Window()
            w.messages += 1
            w.samples += l.count
            w.sse += l.mse * Double(l.count)
            w.seq = l.seq
            w.lossEMA = l.lossEMA
            windows[l.model] = w
        case .stats(let s):
            let age = s.checkpointAge.map { String(format: "%.0f s ago", $0) } ?? "never"
            emit(
                "\(timestamp()) stats \(s.model)  \(String(format: "%.0f", s.samplesPerSecond)) samples/s  seq \(s.seq)  loss_ema \(s.lossEMA.map(sci) ?? "-")  damping \(s.damping.map(sci) ?? "-")  rejected \(s.rejected)  checkpoint \(age)"
            )
        case .error(let e): emit("\(timestamp()) error \(e.model ?? "-")  \(e.reason)")
        case .prediction: break
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

/// An `ngd proxy`'s counters, asked for with STATISTICS and shown as rates since the last ask.
struct ProxyStatistics {
    let endpoint: String?
    let context: ZMQContext
    let curve: CurveClientKeys?
    private var socket: ZMQSocket?
    private var last: [String: Int] = [:]
    private var lastTime = Date()

    init(endpoint: String?, context: ZMQContext, curve: CurveClientKeys? = nil) {
        (self.endpoint, self.context, self.curve) = (endpoint, context, curve)
    }

    /// Closes the control socket (before the context is terminated, which waits for it).
    mutating func close() {
        socket?.close()
        socket = nil
    }

    /// "input 1200 msg/s in, 2400 out; output …", or a line saying the proxy did not answer.
    mutating func line() -> String? {
        guard let endpoint else { return nil }
        do {
            if socket == nil {
                let s = try ZMQSocket(context, type: .req, lingerMilliseconds: 0)
                try s.setReceiveTimeout(milliseconds: 1000)
                if let curve {
                    try s.setCurveClient(
                        serverKey: curve.serverKey, publicKey: curve.publicKey, secretKey: curve.secretKey)
                }
                try s.connect(endpoint)
                socket = s
            }
            try socket!.send(["STATISTICS"])
            guard let reply = try socket!.receive()?.first, let v = try? JSONValue.parse(reply) else {
                socket?.close()
                socket = nil
                return "no answer from \(endpoint)"
            }
            let now = Date()
            let seconds = max(now.timeIntervalSince(lastTime), 1e-3)
            var parts: [String] = []
            for side in ["input", "output"] {
                func rate(_ key: String) -> String {
                    let n = v[side]?[key]?.int ?? 0
                    defer { last[side + key] = n }
                    return String(format: "%.0f", Double(n - (last[side + key] ?? n)) / seconds)
                }
                parts.append(
                    "\(side) \(rate("frontend_messages_in")) msg/s in, \(rate("backend_messages_out")) out "
                        + "(total \(v[side]?["frontend_messages_in"]?.int ?? 0))")
            }
            lastTime = now
            if let refused = v["auth_failures"]?.int, refused > 0 { parts.append("refused handshakes \(refused)") }
            return parts.joined(separator: "; ")
        } catch {
            socket?.close()
            socket = nil
            return "\(endpoint): \(error)"
        }
    }
}
