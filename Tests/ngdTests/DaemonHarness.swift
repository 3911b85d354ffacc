import Foundation
import NGDSystem
import NGDWire
import Testing
import ZeroMQ

/// The `ngd` binary that `swift build` put next to this test bundle.
func ngdExecutable() -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent("ngd").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/ngd").path
}

/// Runs `executable args…` to completion; returns its exit status and its stdout and stderr together.
func runProcess(_ executable: String, _ args: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// A fresh empty directory under /tmp.
func temporaryDirectory(_ tag: String) -> String {
    let path = NSTemporaryDirectory() + "ngd-test-\(tag)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A real `ngd serve` process on ephemeral loopback ports.
final class DaemonProcess {
    let process = Process()
    let stateDir: String
    private let stderrText = Locked("")
    private(set) var input = "", output = "", control = ""

    /// Starts `ngd serve args…` with `--state-dir` and ephemeral endpoints unless `args` sets them,
    /// and waits for its "serving" line. `expectStart: false` returns once it exits instead.
    init(
        _ args: [String],
        stateDir: String? = nil,
        environment: [String: String] = [:],
        expectStart: Bool = true
    ) throws {
        self.stateDir = stateDir ?? temporaryDirectory("state")
        var full = ["serve", "--state-dir", self.stateDir, "--log-level", "debug"]
        for flag in ["--input", "--output", "--control"] where !args.contains(flag) {
            full += [flag, "tcp://127.0.0.1:*"]
        }
        process.executableURL = URL(fileURLWithPath: ngdExecutable())
        process.arguments = full + args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "JOURNAL_STREAM")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let text = stderrText
        pipe.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if d.isEmpty {
                h.readabilityHandler = nil
                return
            }
            text.withLock { $0 += String(decoding: d, as: UTF8.self) }
        }
        try process.run()
        guard expectStart else {
            process.waitUntilExit()
            Thread.sleep(forTimeInterval: 0.1)
            return
        }
        guard waitForLog("serving", timeout: 30) else {
            process.terminate()
            throw HarnessError("daemon did not start: \(log)")
        }
        let line = log.split(separator: "\n").first(where: { $0.contains("serving") }).map(String.init) ?? ""
        func field(_ key: String) -> String {
            guard let r = line.range(of: " \(key)=") else { return "" }
            return String(line[r.upperBound...].prefix(while: { $0 != " " }))
        }
        input = field("input")
        output = field("output")
        control = field("control")
    }

    var log: String { stderrText.value }

    func waitForLog(_ needle: String, timeout: Double) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if log.contains(needle) { return true }
            if !process.isRunning { return log.contains(needle) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status and the seconds it took.
    func terminate(timeout: Double = 20) -> (status: Int32, seconds: Double) {
        let t0 = Date()
        kill(process.processIdentifier, SIGTERM)
        waitForExit(timeout)
        return (process.terminationStatus, Date().timeIntervalSince(t0))
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        waitForExit(20)
    }

    private func waitForExit(_ timeout: Double) {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A producer (PUB or PUSH), a subscriber to every output topic, and a control client.
final class DaemonClient {
    let ctx: ZMQContext
    let producer: ZMQSocket
    let subscriber: ZMQSocket
    let controlSocket: ZMQSocket
    private var syncCounter = 0

    init(_ d: DaemonProcess, producer type: ZMQSocketType = .pub) throws {
        ctx = try ZMQContext()
        producer = try ZMQSocket(ctx, type: type, lingerMilliseconds: 0)
        try producer.connect(d.input)
        subscriber = try ZMQSocket(ctx, type: .sub, lingerMilliseconds: 0)
        try subscriber.subscribe("")
        try subscriber.connect(d.output)
        controlSocket = try ZMQSocket(ctx, type: .req, lingerMilliseconds: 0)
        try controlSocket.setReceiveTimeout(milliseconds: 20_000)
        try controlSocket.connect(d.control)
    }

    func send(_ topic: String, _ payload: [UInt8]) throws { try producer.send([Array(topic.utf8), payload]) }
    func send(_ topic: String, json: String) throws { try send(topic, Array(json.utf8)) }

    /// One control request; the parsed reply.
    func request(_ json: String) throws -> JSONValue {
        try controlSocket.send([json])
        guard let r = try controlSocket.receive() else { throw HarnessError("no control reply to \(json)") }
        return try JSONValue.parse(r[0])
    }

    /// The next output message whose topic starts with `prefix` (others are skipped), or nil.
    func next(_ prefix: String, timeout: Double = 10) throws -> (topic: String, payload: [UInt8])? {
        let end = Date().addingTimeInterval(timeout)
        try subscriber.setReceiveTimeout(milliseconds: 50)
        while Date() < end {
            guard let f = try subscriber.receive() else { continue }
            let topic = String(decoding: f[0], as: UTF8.self)
            if topic.hasPrefix(prefix) { return (topic, f.count > 1 ? f[1] : []) }
        }
        return nil
    }

    func nextJSON(_ prefix: String, timeout: Double = 10) throws -> JSONValue? {
        try next(prefix, timeout: timeout).map { try JSONValue.parse($0.payload) }
    }

    /// Waits until messages flow both ways (slow joiner): sends predict-only probes to `topic`
    /// until one's prediction arrives, then drains what is queued.
    func sync(topic: String, inputWidth: Int) throws {
        let x = Array(repeating: "0", count: inputWidth).joined(separator: ",")
        for _ in 0..<400 {
            syncCounter += 1
            let id = "sync-\(syncCounter)"
            try send(topic, json: #"{"x": [\#(x)], "id": "\#(id)"}"#)
            if let m = try next("prediction.", timeout: 0.05), String(decoding: m.payload, as: UTF8.self).contains(id) {
                while try next("", timeout: 0.2) != nil {}
                return
            }
        }
        throw HarnessError("no prediction came back from topic \(topic)")
    }

    /// Sends `count` labelled JSON samples from `teacher` to `topic`, then waits until the
    /// daemon has handled them (a control request is answered only between input batches, so
    /// the seq is polled until it stops moving).
    func feed(_ topic: String, _ count: Int, _ teacher: inout LinearTeacher) throws {
        for i in 0..<count {
            let (x, y) = teacher.sample()
            try send(topic, json: teacher.json(x, y, id: i))
        }
        var last = -1
        while true {
            Thread.sleep(forTimeInterval: 0.1)
            let s = try request(#"{"cmd":"status"}"#)
            guard case .object(let models)? = s["models"] else { return }
            let total = models.reduce(0) { $0 + ($1.1["samples"]?.int ?? 0) }
            if total == last { return }
            last = total
        }
    }

    /// The model's predictions on `probe` (rows of inputs), through the control socket.
    func predict(_ model: String, _ probe: [[Double]]) throws -> [[Double]] {
        var w = JSONWriter()
        w.beginObject()
        w.key("cmd")
        w.value("predict")
        w.key("model")
        w.value(model)
        w.key("x")
        w.beginArray()
        for r in probe { w.value(doubles: r) }
        w.endArray()
        w.endObject()
        let reply = try request(w.string)
        guard case .array(let rows)? = reply["y_hat"] else { throw HarnessError("bad predict reply \(reply)") }
        return rows.map { row in
            guard case .array(let v) = row else { return [] }
            return v.map { if case .number(let d, _) = $0 { return d } else { return .nan } }
        }
    }

    func number(_ v: JSONValue?) -> Double? { if case .number(let d, _)? = v { return d } else { return nil } }
}

extension JSONValue {
    var double: Double? { if case .number(let d, _) = self { return d } else { return nil } }
    var text: String? { if case .string(let s) = self { return s } else { return nil } }
    var int: Int? { double.map { Int($0) } }
}

/// A linear teacher y = A x with 4 inputs and 2 outputs, for learning tests.
struct LinearTeacher {
    var rng = SystemRandomNumberGenerator()
    let a: [[Double]] = [[0.5, -0.3, 0.8, 0.1], [-0.2, 0.7, 0.0, -0.6]]

    mutating func sample() -> ([Double], [Double]) {
        let x = (0..<4).map { _ in Double.random(in: -1...1, using: &rng) }
        let y = a.map { row in zip(row, x).reduce(0) { $0 + $1.0 * $1.1 } }
        return (x, y)
    }

    func json(_ x: [Double], _ y: [Double]?, id: Int) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("x")
        w.value(doubles: x)
        if let y {
            w.key("y")
            w.value(doubles: y)
        }
        w.key("id")
        w.value(id)
        w.endObject()
        return w.string
    }
}
