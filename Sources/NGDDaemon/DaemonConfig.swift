import Foundation
import NGDMath

#if canImport(Glibc)
import Glibc
#endif

/// How the input socket receives.
public enum InputPattern: String, CaseIterable, Sendable {
    /// SUB: producers PUBlish; messages are routed by topic.
    case sub
    /// PULL: producers PUSH; load-balanced, no subscription.
    case pull
}

/// Whether a socket binds (waits for peers) or connects (to a producer's PUB, or a proxy).
public enum SocketMode: String, CaseIterable, Sendable {
    case bind
    case connect
}

/// Which topics the SUB input subscribes to.
public enum SubscriptionMode: String, CaseIterable, Sendable {
    /// Everything; a topic that names no model is rejected with an error (the default).
    case all
    /// Only the models' topics, for a daemon on a shared bus. libzmq filters by prefix, so the
    /// daemon still checks each topic exactly and drops other topics without an error.
    case models
}

/// The whole daemon configuration: the `[daemon]` table and one `[models.NAME]` table per model.
public struct DaemonConfig: Equatable, Sendable {
    public var input = "tcp://127.0.0.1:5555"
    public var inputPattern = InputPattern.sub
    public var inputMode = SocketMode.bind
    public var subscribe = SubscriptionMode.all
    public var output = "tcp://127.0.0.1:5556"
    public var control = "tcp://127.0.0.1:5557"
    /// Where checkpoints live. systemd's `StateDirectory=` sets `$STATE_DIRECTORY`, the default.
    public var stateDirectory = Self.defaultStateDirectory()
    /// Seconds between automatic checkpoints; 0 saves only on `checkpoint` and at shutdown.
    public var checkpointInterval = 300.0
    /// Seconds between `stats.<model>` messages; 0 disables them.
    public var statsInterval = 5.0
    /// Publish `loss.<model>` for every Nth labelled message.
    public var lossEvery = 1
    /// Messages queued on the input before libzmq drops (SUB) or pushes back (PULL).
    public var receiveHighWaterMark = 10_000
    /// Messages queued per subscriber on the output before libzmq drops them.
    public var sendHighWaterMark = 10_000
    /// The largest input message, in bytes; libzmq drops the connection of a peer that sends more.
    public var maxMessageSize = 16 << 20
    /// Milliseconds unsent output may delay shutdown.
    public var lingerMilliseconds = 1000
    public var models: [ModelConfig] = []

    public init() {}

    public static func defaultStateDirectory() -> String {
        if let s = getenv("STATE_DIRECTORY") {
            // systemd may pass several, separated by ':'; the first is ours.
            let first = String(cString: s).split(separator: ":").first.map(String.init) ?? ""
            if !first.isEmpty { return first }
        }
        return "ngd-state"
    }

    /// Checks everything before anything is bound; the error names the key.
    public func validate() throws {
        for (key, endpoint) in [("daemon.input", input), ("daemon.output", output), ("daemon.control", control)] {
            guard let r = endpoint.range(of: "://"), !endpoint[r.upperBound...].isEmpty,
                ["tcp", "ipc", "inproc", "pgm", "epgm", "ws", "wss", "vmci"].contains(String(endpoint[..<r.lowerBound]))
            else {
                throw ConfigError(key: key, "'\(endpoint)' is not a ZeroMQ endpoint such as tcp://127.0.0.1:5555")
            }
        }
        if inputMode == .bind {
            let endpoints = [("daemon.input", input), ("daemon.output", output), ("daemon.control", control)]
            for a in 0..<3 {
                for b in (a + 1)..<3 where endpoints[a].1 == endpoints[b].1 && !endpoints[a].1.hasSuffix(":*") {
                    throw ConfigError(key: endpoints[b].0, "'\(endpoints[b].1)' is already used by \(endpoints[a].0)")
                }
            }
        }
        guard !stateDirectory.isEmpty else { throw ConfigError(key: "daemon.state_dir", "must not be empty") }
        guard checkpointInterval >= 0, checkpointInterval.isFinite else {
            throw ConfigError(key: "daemon.checkpoint_interval", "must be ≥ 0 seconds, got \(checkpointInterval)")
        }
        guard statsInterval >= 0, statsInterval.isFinite else {
            throw ConfigError(key: "daemon.stats_interval", "must be ≥ 0 seconds, got \(statsInterval)")
        }
        guard lossEvery >= 1 else { throw ConfigError(key: "daemon.loss_every", "must be ≥ 1, got \(lossEvery)") }
        guard receiveHighWaterMark >= 0, receiveHighWaterMark <= Int(Int32.max) else {
            throw ConfigError(key: "daemon.receive_hwm", "must be in 0...\(Int32.max) messages (0 is unlimited)")
        }
        guard sendHighWaterMark >= 0, sendHighWaterMark <= Int(Int32.max) else {
            throw ConfigError(key: "daemon.send_hwm", "must be in 0...\(Int32.max) messages (0 is unlimited)")
        }
        guard maxMessageSize >= 64 else {
            throw ConfigError(key: "daemon.max_message_size", "must be at least 64 bytes, got \(maxMessageSize)")
        }
        guard lingerMilliseconds >= 0, lingerMilliseconds <= 60_000 else {
            throw ConfigError(
                key: "daemon.linger_ms",
                "must be in 0...60000 ms (a finite linger keeps shutdown prompt)"
            )
        }
        guard !models.isEmpty else {
            throw ConfigError(
                key: "models",
                "no model is configured: give --layers (e.g. --layers 20,20,20) or a [models.NAME] table in --config"
            )
        }
        var names = Set<String>()
        var topics = [String: String]()
        for m in models {
            try m.validate()
            guard names.insert(m.name).inserted else { throw ConfigError(key: "models.\(m.name)", "is defined twice") }
            if let other = topics[m.topic] {
                throw ConfigError(key: "models.\(m.name).topic", "'\(m.topic)' is already the topic of model \(other)")
            }
            topics[m.topic] = m.name
        }
    }

    /// The model named `name`, created with empty layers when absent (flags fill it in).
    public mutating func withModel(_ name: String, _ body: (inout ModelConfig) -> Void) {
        if let i = models.firstIndex(where: { $0.name == name }) {
            body(&models[i])
        } else {
            var m = ModelConfig(name: name, layers: [])
            body(&m)
            models.append(m)
        }
    }
}
