import Foundation
import NGDMath
import NGDSystem

#if canImport(Glibc)
import Glibc
#endif

/// How the input socket receives.
public enum InputPattern: String, CaseIterable, Sendable, SettingChoice {
    /// SUB: producers PUBlish; messages are routed by topic.
    case sub
    /// PULL: producers PUSH; load-balanced, no subscription.
    case pull
}

/// Whether a socket binds (waits for peers) or connects (to a producer's PUB, or a proxy).
public enum SocketMode: String, CaseIterable, Sendable, SettingChoice {
    case bind
    case connect
}

/// Which topics the SUB input subscribes to.
public enum SubscriptionMode: String, CaseIterable, Sendable, SettingChoice {
    /// Everything; a topic that names no model is rejected with an error (the default).
    case all
    /// Only the models' topics, for a daemon on a shared bus. libzmq filters by prefix, so the
    /// daemon still checks each topic exactly and drops other topics without an error.
    case models
}

/// The name of a setting of the `[daemon]` table, spelled once for files and once for flags.
public enum DaemonSettingName: String, CaseIterable, SettingName {
    case input
    case inputPattern = "input_pattern"
    case inputMode = "input_mode"
    case subscribe
    case output
    case outputMode = "output_mode"
    case control
    case metrics
    case stateDirectory = "state_dir"
    case checkpointInterval = "checkpoint_interval"
    case statsInterval = "stats_interval"
    case lossEvery = "loss_every"
    case receiveHighWaterMark = "receive_hwm"
    case sendHighWaterMark = "send_hwm"
    case maxMessageSize = "max_message_size"
    case linger = "linger_ms"
    case curveServerKey = "curve.server_key"
    case curveProducers = "curve.producers"
    case curveSubscribers = "curve.subscribers"
    case curveAdmins = "curve.admins"
    case curveProxyKey = "curve.proxy_key"

    public var configKey: String { rawValue }

    public var flag: String {
        switch self {
        case .input: "--input"
        case .inputPattern: "--input-pattern"
        case .inputMode: "--input-mode"
        case .subscribe: "--subscribe"
        case .output: "--output"
        case .outputMode: "--output-mode"
        case .control: "--control"
        case .metrics: "--metrics"
        case .stateDirectory: "--state-dir"
        case .checkpointInterval: "--checkpoint-interval"
        case .statsInterval: "--stats-interval"
        case .lossEvery: "--loss-every"
        case .receiveHighWaterMark: "--receive-hwm"
        case .sendHighWaterMark: "--send-hwm"
        case .maxMessageSize: "--max-message-size"
        case .linger: "--linger"
        case .curveServerKey: "--curve-server-key"
        case .curveProducers: "--curve-producers"
        case .curveSubscribers: "--curve-subscribers"
        case .curveAdmins: "--curve-admins"
        case .curveProxyKey: "--curve-proxy-key"
        }
    }
}

/// The whole daemon configuration: the `[daemon]` table and one `[models.NAME]` table per model.
/// Each setting is declared once, with its default, and listed once in ``settings``.
public struct DaemonConfig: Equatable, Sendable {
    public var input = "tcp://127.0.0.1:5555"
    public var inputPattern = InputPattern.sub
    public var inputMode = SocketMode.bind
    public var subscribe = SubscriptionMode.all
    public var output = "tcp://127.0.0.1:5556"
    /// Bind the output, or connect it to a proxy's daemon-facing XSUB (`ngd proxy --from-daemons`).
    public var outputMode = SocketMode.bind
    public var control = "tcp://127.0.0.1:5557"
    /// `HOST:PORT` of the Prometheus endpoint (`GET /metrics`, plain HTTP); "" serves none.
    /// Port `*` picks a free one (the "serving" log line names it).
    public var metrics = ""
    /// Where checkpoints live. systemd's `StateDirectory=` sets `$STATE_DIRECTORY`, the default.
    public var stateDirectory = Self.defaultStateDirectory()
    /// Seconds between automatic checkpoints; 0 saves only on `checkpoint` and at shutdown.
    public var checkpointInterval = 300.0
    /// Seconds between `stats.<model>` messages; 0 disables them.
    public var statsInterval = 5.0
    /// Publish `loss.<model>` for every Nth labelled message.
    public var lossEvery = 1
    /// Messages queued on the input, per connected producer, before libzmq drops (SUB) or
    /// pushes back (PULL). With ``maxMessageSize`` it bounds the input's memory
    /// (``inputQueueBound``).
    public var receiveHighWaterMark = 1000
    /// Messages queued per subscriber on the output before libzmq drops them.
    public var sendHighWaterMark = 10_000
    /// The largest input message, in bytes; libzmq drops the connection of a peer that sends more.
    /// Parsing a JSON message of this size peaks at about 9× it (measured: 14.5 MiB → +122 MiB).
    public var maxMessageSize = 1 << 20
    /// Milliseconds unsent output may delay shutdown.
    public var lingerMilliseconds = 1000
    /// `[daemon.curve]`: the daemon's CURVE secret certificate (`ngd keygen`); "" leaves every
    /// socket in plain text. When set, each socket admits only the public certificates in its
    /// own directory (``curveProducers``, ``curveSubscribers``, ``curveAdmins``).
    public var curveServerKey = ""
    /// Directory of the `.key` certificates that may feed the input socket.
    public var curveProducers = ""
    /// Directory of the `.key` certificates that may subscribe to the output socket.
    public var curveSubscribers = ""
    /// Directory of the `.key` certificates that may use the control socket.
    public var curveAdmins = ""
    /// The public certificate of the `ngd proxy` this daemon connects to (`input_mode` or
    /// `output_mode` = "connect"): those sockets become CURVE clients of it, with the daemon's
    /// own key pair (``curveServerKey``), and need no directory of their own. "" leaves them
    /// CURVE servers like the bound sockets.
    public var curveProxyKey = ""
    public var models: [ModelConfig] = []

    public init() {}

    /// Every `[daemon]` setting, once, with its help line.
    public static var settings: [Setting<DaemonConfig, DaemonSettingName>] {
        [
            Setting(.input, \.input, "endpoint", "Input endpoint: producers send [topic, payload] messages here."),
            Setting(
                .inputPattern, \.inputPattern, "sub: topics are routed to models; pull: load-balanced PUSH producers."),
            Setting(.inputMode, \.inputMode, "bind the input, or connect it to a producer's PUB or a proxy."),
            Setting(
                .subscribe, \.subscribe, "SUB input: all topics (unknown ones get an error) or only the models' topics."
            ),
            Setting(.output, \.output, "endpoint", "Output PUB endpoint: predictions, loss, stats and errors."),
            Setting(.outputMode, \.outputMode, "bind the output, or connect it to a proxy (ngd proxy --from-daemons)."),
            Setting(
                .control, \.control, "endpoint",
                "Control endpoint (JSON requests from REQ clients): status, predict, checkpoint, pause, resume."),
            Setting(
                .metrics, \.metrics, "host:port",
                "Prometheus metrics over HTTP (GET /metrics), e.g. 127.0.0.1:9557; empty serves none."),
            Setting(
                .stateDirectory, \.stateDirectory, "dir",
                "Checkpoint directory; $STATE_DIRECTORY (systemd's StateDirectory=) when set."),
            Setting(
                .checkpointInterval, \.checkpointInterval, "s",
                "Seconds between checkpoints; 0 saves only on command and at shutdown."),
            Setting(.statsInterval, \.statsInterval, "s", "Seconds between stats messages; 0 turns them off."),
            Setting(.lossEvery, \.lossEvery, "n", "Publish loss for every nth labelled message."),
            Setting(
                .receiveHighWaterMark, \.receiveHighWaterMark, "n", "Input queue limit in messages (0: unlimited)."),
            Setting(
                .sendHighWaterMark, \.sendHighWaterMark, "n",
                "Output queue limit per subscriber in messages (0: unlimited)."),
            Setting(
                .maxMessageSize, \.maxMessageSize, "bytes",
                "Largest input message; libzmq drops a peer that sends more."),
            Setting(.linger, \.lingerMilliseconds, "ms", "Milliseconds unsent output may delay shutdown."),
            Setting(
                .curveServerKey, \.curveServerKey, "file",
                "CURVE: the daemon's .key_secret certificate (ngd keygen); empty is plain text."),
            Setting(.curveProducers, \.curveProducers, "dir", "CURVE: .key certificates allowed to feed the input."),
            Setting(
                .curveSubscribers, \.curveSubscribers, "dir", "CURVE: .key certificates allowed to read the output."),
            Setting(.curveAdmins, \.curveAdmins, "dir", "CURVE: .key certificates allowed to use the control socket."),
            Setting(
                .curveProxyKey, \.curveProxyKey, "file",
                "CURVE: the public .key of the ngd proxy that connected sockets reach, as its clients."),
        ]
    }

    /// Sets one `[daemon]` setting.
    /// - Throws: ``ConfigError`` when the value has the wrong type.
    public mutating func set(_ name: DaemonSettingName, _ value: SettingValue) throws(ConfigError) {
        // Every name has exactly one row (a test checks it).
        guard let row = Self.settings.first(where: { $0.name == name }) else {
            throw ConfigError(.daemon(name), "is not settable")
        }
        do { try row.set(value, in: &self) } catch { throw ConfigError(.daemon(name), error.problem) }
    }

    public static func defaultStateDirectory() -> String {
        if let s = getenv("STATE_DIRECTORY") {
            // systemd may pass several, separated by ':'; the first is ours.
            let first = String(cString: s).split(separator: ":").first.map(String.init) ?? ""
            if !first.isEmpty { return first }
        }
        return "ngd-state"
    }

    /// The most bytes the input queue can hold per connected producer:
    /// `receive_hwm × max_message_size` (1000 × 1 MiB ≈ 1 GiB by default), or nil when
    /// `receive_hwm` is 0 (unlimited) or the product overflows.
    public var inputQueueBound: Int? {
        guard receiveHighWaterMark > 0 else { return nil }
        let (bytes, overflow) = receiveHighWaterMark.multipliedReportingOverflow(by: maxMessageSize)
        return overflow ? nil : bytes
    }

    /// The ZeroMQ endpoint of ``metrics`` (`tcp://HOST:PORT`), or nil when it is empty or not
    /// `HOST:PORT`.
    public var metricsEndpoint: String? { MetricsServer.endpoint(forSetting: metrics) }

    /// The shortest and longest periodic interval, in seconds: shorter ones would fire on every
    /// turn of the serve loop, longer ones cannot be represented as a deadline.
    static let shortestInterval = 0.01
    static let longestInterval = 365.0 * 86_400

    /// Checks everything before anything is bound; the error names the setting.
    public func validate() throws(ConfigError) {
        for (key, endpoint) in [(DaemonSettingName.input, input), (.output, output), (.control, control)] {
            guard let r = endpoint.range(of: "://"), !endpoint[r.upperBound...].isEmpty,
                ["tcp", "ipc", "inproc", "pgm", "epgm", "ws", "wss", "vmci"].contains(String(endpoint[..<r.lowerBound]))
            else {
                throw ConfigError(.daemon(key), "'\(endpoint)' is not a ZeroMQ endpoint such as tcp://127.0.0.1:5555")
            }
        }
        do {
            // Two sockets cannot bind one endpoint.
            let endpoints = [
                (DaemonSettingName.input, input, inputMode), (.output, output, outputMode), (.control, control, .bind),
            ].filter { $0.2 == .bind }
            for a in 0..<endpoints.count {
                for b in (a + 1)..<endpoints.count
                where endpoints[a].1 == endpoints[b].1 && !endpoints[a].1.hasSuffix(":*") {
                    throw ConfigError(
                        .daemon(endpoints[b].0),
                        "'\(endpoints[b].1)' is already used by daemon.\(endpoints[a].0.configKey)")
                }
            }
        }
        if !metrics.isEmpty, metricsEndpoint == nil {
            throw ConfigError(
                .daemon(.metrics), "'\(metrics)' is not HOST:PORT such as 127.0.0.1:9557 (port 1–65535 or *)")
        }
        guard !stateDirectory.isEmpty else { throw ConfigError(.daemon(.stateDirectory), "must not be empty") }
        for (key, seconds) in [
            (DaemonSettingName.checkpointInterval, checkpointInterval), (.statsInterval, statsInterval),
        ]
        where !(seconds == 0 || (Self.shortestInterval...Self.longestInterval).contains(seconds)) {
            throw ConfigError(
                .daemon(key),
                "must be 0 (off) or between \(Self.shortestInterval) and \(Int(Self.longestInterval)) seconds "
                    + "(a year), got \(seconds)")
        }
        if !curveProxyKey.isEmpty {
            guard !curveServerKey.isEmpty else {
                throw ConfigError(
                    .daemon(.curveProxyKey), "needs curve.server_key: the daemon's own key pair, which the proxy lists")
            }
            guard inputMode == .connect || outputMode == .connect else {
                throw ConfigError(
                    .daemon(.curveProxyKey),
                    "has no socket to secure: neither input_mode nor output_mode is \"connect\"")
            }
        }
        if !curveServerKey.isEmpty {
            let proxied = !curveProxyKey.isEmpty
            for (key, dir, needed) in [
                (DaemonSettingName.curveProducers, curveProducers, !(proxied && inputMode == .connect)),
                (.curveSubscribers, curveSubscribers, !(proxied && outputMode == .connect)),
                (.curveAdmins, curveAdmins, true),
            ] where needed && dir.isEmpty {
                throw ConfigError(
                    .daemon(key), "must name a directory of allowed .key certificates when curve.server_key is set")
            }
        }
        guard lossEvery >= 1 else { throw ConfigError(.daemon(.lossEvery), "must be ≥ 1, got \(lossEvery)") }
        guard receiveHighWaterMark >= 0, receiveHighWaterMark <= Int(Int32.max) else {
            throw ConfigError(.daemon(.receiveHighWaterMark), "must be in 0...\(Int32.max) messages (0 is unlimited)")
        }
        guard sendHighWaterMark >= 0, sendHighWaterMark <= Int(Int32.max) else {
            throw ConfigError(.daemon(.sendHighWaterMark), "must be in 0...\(Int32.max) messages (0 is unlimited)")
        }
        guard maxMessageSize >= 64 else {
            throw ConfigError(.daemon(.maxMessageSize), "must be at least 64 bytes, got \(maxMessageSize)")
        }
        guard lingerMilliseconds >= 0, lingerMilliseconds <= 60_000 else {
            throw ConfigError(.daemon(.linger), "must be in 0...60000 ms (a finite linger keeps shutdown prompt)")
        }
        guard !models.isEmpty else {
            throw ConfigError(
                .models,
                "no model is configured: give --layers (e.g. --layers 20,20,20) or a [models.NAME] table in --config")
        }
        var names = Set<String>()
        var topics = [[UInt8]: String]()
        var total = 0
        let memory = ProcessStatus.physicalMemoryBytes
        for m in models {
            try m.validate()
            // Sizes that each pass can still multiply past any machine: refuse before allocating.
            guard let bytes = m.estimatedBytes, let sum = ModelConfig.checkedSum([total, bytes]),
                memory.map({ sum <= $0 }) ?? true
            else {
                let need = m.estimatedBytes.map { Self.gibibytes($0) + " GiB" } ?? "more bytes than an Int holds"
                throw ConfigError(
                    .model(m.name, .layers),
                    "\(m.layers) with optimizer \(m.optimizer.rawValue) needs about \(need) of memory"
                        + (models.count > 1 ? " (all models together: more)" : "")
                        + "; this machine has \(memory.map { Self.gibibytes($0) } ?? "?") GiB")
            }
            total = sum
            guard names.insert(m.name).inserted else { throw ConfigError(.model(m.name, nil), "is defined twice") }
            if let other = topics[Array(m.topic.utf8)] {
                throw ConfigError(.model(m.name, .topic), "'\(m.topic)' is already the topic of model \(other)")
            }
            topics[Array(m.topic.utf8)] = m.name
        }
    }

    static func gibibytes(_ bytes: Int) -> String {
        let g = Double(bytes) / Double(1 << 30)
        return g >= 10 ? String(Int(g.rounded())) : String(format: "%.2g", g)
    }

    /// Changes the model named `name`, created with empty layers when absent (flags fill it in).
    public mutating func withModel(
        _ name: String, _ body: (inout ModelConfig) throws(ConfigError) -> Void
    ) throws(ConfigError) {
        if let i = models.firstIndex(where: { $0.name == name }) {
            try body(&models[i])
        } else {
            var m = ModelConfig(name: name, layers: [])
            try body(&m)
            models.append(m)
        }
    }
}
