import Foundation
import NGDClient
import NGDWire

/// The test's view of a running daemon: ``NGDClient/DaemonClient`` (producer, subscriber to
/// every topic, control client), plus raw access for the tests that send bad input.
public final class TestClient {
    public let client: DaemonClient

    public init(_ d: DaemonProcess, producer pattern: Producer.Pattern = .pub) throws {
        client = try DaemonClient(
            input: d.input, output: d.output, control: d.control, pattern: pattern, topics: [""],
            controlTimeout: .seconds(20))
    }

    /// A client that has waited until messages flow both ways on `topic`
    /// (``sync(topic:inputWidth:)``).
    public convenience init(syncedTo d: DaemonProcess, topic: String = "default", inputWidth: Int = 4) throws {
        try self.init(d)
        try sync(topic: topic, inputWidth: inputWidth)
    }

    deinit { client.close() }

    public func send(_ topic: String, _ payload: [UInt8]) throws {
        try client.producer.send(topic: topic, payload: payload)
    }
    public func send(_ topic: String, json: String) throws { try send(topic, Array(json.utf8)) }

    /// One control request as raw JSON text; the parsed reply.
    public func request(_ json: String) throws -> JSONValue {
        try JSONValue.parse(try client.control.exchange(Array(json.utf8), name: json))
    }

    /// The next output message whose topic starts with `prefix` (others are skipped), or nil.
    public func next(_ prefix: String, timeout: Double = 10) throws -> (topic: String, payload: [UInt8])? {
        let end = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while ContinuousClock.now < end {
            guard let m = try client.subscriber.nextFrames(timeout: .milliseconds(50)) else { continue }
            if m.topic.hasPrefix(prefix) { return m }
        }
        return nil
    }

    public func nextJSON(_ prefix: String, timeout: Double = 10) throws -> JSONValue? {
        try next(prefix, timeout: timeout).map { try JSONValue.parse($0.payload) }
    }

    /// Waits until messages flow both ways (``DaemonClient/sync(topic:inputWidth:timeout:)``).
    public func sync(topic: String, inputWidth: Int) throws {
        try client.sync(topic: topic, inputWidth: inputWidth, timeout: .seconds(20))
    }

    /// Sends `count` labelled JSON samples from `teacher` to `topic`, then waits until the
    /// daemon has handled them (a control request is answered only between input batches, so
    /// the sample count is polled until it stops moving).
    public func feed(_ topic: String, _ count: Int, _ teacher: inout LinearTeacher) throws {
        for i in 0..<count {
            let (x, y) = teacher.sample()
            try send(topic, json: teacher.json(x, y, id: i))
        }
        var last = -1
        while true {
            Thread.sleep(forTimeInterval: 0.1)
            let total = try client.control.status().models.reduce(0) { $0 + $1.stats.samples }
            if total == last { return }
            last = total
        }
    }

    /// The model's predictions on `probe` (rows of inputs), through the control socket.
    public func predict(_ model: String, _ probe: [[Double]]) throws -> [[Double]] {
        try client.control.predict(model: model, rows: probe)
    }
}
