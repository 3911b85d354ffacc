import Foundation
import NGDWire
import ZeroMQ

/// A producer, a subscriber and a control client for one daemon, on one context: what a program
/// that feeds a daemon and reads it back needs.
///
/// Thread safety: none; use a client on one thread.
public final class DaemonClient {
    public let context: ZMQContext
    public let producer: Producer
    public let subscriber: Subscriber
    public let control: ControlClient
    private var probes = 0

    /// Connects to the daemon's three endpoints. `topics` are the subscriber's prefixes. With
    /// `curve`, every socket is a CURVE client with those keys (the daemon must list the
    /// client's public key in `producers`, `subscribers` and `admins`).
    public init(
        input: String, output: String, control: String, pattern: Producer.Pattern = .pub, topics: [String] = [""],
        controlTimeout: Duration = .seconds(5), curve: CurveClientKeys? = nil
    ) throws(ClientError) {
        context = try socketCall("context", "") { try ZMQContext() }
        producer = try Producer(context: context, endpoint: input, pattern: pattern, highWaterMark: 0, curve: curve)
        subscriber = try Subscriber(
            context: context, endpoint: output, topics: topics, highWaterMark: 0, curve: curve)
        self.control = try ControlClient(context: context, endpoint: control, timeout: controlTimeout, curve: curve)
    }

    /// Waits until messages flow both ways (PUB/SUB drops what is sent before a subscription
    /// arrives): sends predict-only probes (x = 0, id `sync-N`) to `topic` until one's
    /// prediction comes back, then drops what is queued. The subscriber must receive
    /// `prediction.` messages of that topic's model.
    /// - Throws: ``ClientError/unreachable(input:output:seconds:)`` after `timeout`.
    public func sync(topic: String, inputWidth: Int, timeout: Duration = .seconds(10)) throws(ClientError) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            probes += 1
            let id = "sync-\(probes)"
            let probe = SampleMessage(
                x: [Double](repeating: 0, count: inputWidth), y: nil, count: 1, id: .json(.string(id)))
            try producer.send(topic: topic, probe)
            let until = ContinuousClock.now + .milliseconds(50)
            while ContinuousClock.now < until {
                if case .prediction(let p)? = try subscriber.next(timeout: .milliseconds(10)),
                    p.id == .json(.string(id))
                {
                    // Let the other probes' replies arrive, then drop them.
                    Thread.sleep(forTimeInterval: 0.05)
                    try subscriber.drain()
                    return
                }
            }
        }
        throw .unreachable(input: producer.endpoint, output: subscriber.endpoint, seconds: timeout.seconds)
    }

    /// Closes the sockets and terminates the context.
    public func close() {
        producer.close()
        subscriber.close()
        control.close()
        context.terminate()
    }
}
