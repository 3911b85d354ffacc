import ZeroMQ

/// What `ngd proxy` binds, and who may connect under CURVE.
///
/// Thread safety: a value.
public struct ProxyConfig: Sendable {
    /// Where producers' PUBs connect (XSUB).
    public var input = "tcp://127.0.0.1:5555"
    /// Where daemons' SUB inputs connect (XPUB).
    public var toDaemons = "tcp://127.0.0.1:5565"
    /// Where daemons' PUB outputs connect (XSUB).
    public var fromDaemons = "tcp://127.0.0.1:5566"
    /// Where subscribers connect (XPUB).
    public var output = "tcp://127.0.0.1:5556"
    /// The control endpoint (REP): PAUSE, RESUME, STATISTICS, TERMINATE.
    public var control = "tcp://127.0.0.1:5567"
    /// Messages queued per peer on each socket (0: unlimited).
    public var highWaterMark = 10_000
    /// The largest message a producer may send to ``input``, in bytes; libzmq drops a producer
    /// that sends more. Keep it at most the smallest `max_message_size` of the daemons behind.
    public var maxMessageSize = 1 << 20
    /// `HOST:PORT` of the Prometheus endpoint (GET /metrics, plain HTTP); "" is off.
    public var metrics = ""
    /// The proxy's CURVE secret certificate (`ngd keygen`); "" leaves every socket in plain
    /// text. When set, every socket is a CURVE server and each admits only the public
    /// certificates in its own directory.
    public var curveServerKey = ""
    /// Directory of the `.key` certificates that may publish to ``input``.
    public var curveProducers = ""
    /// Directory of the daemons' `.key` certificates (``toDaemons`` and ``fromDaemons``).
    public var curveDaemons = ""
    /// Directory of the `.key` certificates that may subscribe to ``output``.
    public var curveSubscribers = ""
    /// Directory of the `.key` certificates that may use ``control``.
    public var curveAdmins = ""

    public init() {}

    /// The five endpoints with their roles, in the order the proxy binds them.
    public var endpoints: [(role: String, endpoint: String)] {
        [
            ("input", input), ("to-daemons", toDaemons), ("from-daemons", fromDaemons), ("output", output),
            ("control", control),
        ]
    }

    /// Checks what can be checked before anything is bound.
    /// - Throws: ``ConfigError`` naming the flag.
    public func validate() throws(ConfigError) {
        let all = endpoints
        for (i, e) in all.enumerated() {
            guard e.endpoint.contains("://") else {
                throw ConfigError(
                    .other("--\(e.role)"), "'\(e.endpoint)' is not a ZeroMQ endpoint such as tcp://127.0.0.1:5555")
            }
            if !e.endpoint.hasSuffix(":*"), all[..<i].contains(where: { $0.endpoint == e.endpoint }) {
                throw ConfigError(.other("--\(e.role)"), "'\(e.endpoint)' is given twice")
            }
        }
        guard (0...10_000_000).contains(highWaterMark) else {
            throw ConfigError(
                .other("--hwm"), "must be in 0...10000000 messages (0 is unlimited), got \(highWaterMark)")
        }
        guard maxMessageSize >= 64 else {
            throw ConfigError(.other("--max-message-size"), "must be at least 64 bytes, got \(maxMessageSize)")
        }
        if !metrics.isEmpty, metricsEndpoint == nil {
            throw ConfigError(
                .other("--metrics"), "'\(metrics)' is not HOST:PORT such as 127.0.0.1:9558 (port 1–65535 or *)")
        }
        let directories = curveDirectories
        if curveServerKey.isEmpty {
            if let d = directories.first(where: { !$0.path.isEmpty }) {
                throw ConfigError(d.setting, "needs --curve-server-key (the proxy's secret certificate)")
            }
        } else if let d = directories.first(where: { $0.path.isEmpty }) {
            throw ConfigError(d.setting, "must name a directory of allowed .key certificates with --curve-server-key")
        }
    }

    /// The metrics endpoint as `tcp://HOST:PORT`, or nil when off or malformed.
    public var metricsEndpoint: String? { MetricsServer.endpoint(forSetting: metrics) }

    /// Each CURVE domain's directory and its flag.
    var curveDirectories: [CurveAccess.Directory] {
        [
            .init(.input, curveProducers, setting: .other("--curve-producers")),
            .init(.daemons, curveDaemons, setting: .other("--curve-daemons")),
            .init(.output, curveSubscribers, setting: .other("--curve-subscribers")),
            .init(.control, curveAdmins, setting: .other("--curve-admins")),
        ]
    }

    /// The CURVE access the flags describe, or nil without `--curve-server-key`.
    /// - Throws: ``ConfigError`` naming the flag whose file or directory cannot be used.
    func curveAccess() throws(ConfigError) -> CurveAccess? {
        guard !curveServerKey.isEmpty else { return nil }
        return try CurveAccess.load(
            serverKey: curveServerKey, setting: .other("--curve-server-key"), directories: curveDirectories)
    }
}
