import Dispatch
import Foundation
import Logging
import NGDSystem
import NGDWire
import ZeroMQ

/// `ngd proxy`: libzmq's own XSUB/XPUB proxy (`zmq_proxy_steerable`), twice, between producers,
/// daemons and subscribers, so that many daemons share one input and one output endpoint.
///
/// Each device runs on its own thread with its own three sockets; no forwarding loop of ours
/// touches a message. The loop's thread (``run(stop:)``) owns the control endpoint (REP), the
/// ZAP handler under CURVE, and one PAIR to each device's control socket (PAIR, not REP: libzmq
/// 4.3.4 answers only STATISTICS, and a REP that does not reply cannot take the next command).
///
/// Thread safety: none; ``run(stop:)`` owns everything from its first line.
public final class ProxyLoop: ThreadedLoop {
    public let threadName = "ngd-proxy"
    public let config: ProxyConfig
    public let reloadSignal = StopSignal()
    /// Called once every socket is bound, with the bound endpoints by role (`input`,
    /// `to-daemons`, `from-daemons`, `output`, `control`).
    public var onReady: (@Sendable ([String: String]) -> Void)?
    private let logger: Logger
    private let notifier: SystemdNotifier
    private var zap: ZAPHandler?

    public init(config: ProxyConfig, logger: Logger, notifier: SystemdNotifier = SystemdNotifier()) {
        (self.config, self.logger, self.notifier) = (config, logger, notifier)
    }

    /// One device: its name, its two sockets' endpoints and their CURVE domains.
    struct Side {
        let name: String
        let frontend: (role: String, endpoint: String, domain: CurveAccess.Domain)
        let backend: (role: String, endpoint: String, domain: CurveAccess.Domain)
        var controlEndpoint: String { "inproc://ngd-proxy-\(name)" }
    }

    var sides: [Side] {
        [
            Side(
                name: "input", frontend: ("input", config.input, .input),
                backend: ("to-daemons", config.toDaemons, .daemons)),
            Side(
                name: "output", frontend: ("from-daemons", config.fromDaemons, .daemons),
                backend: ("output", config.output, .output)),
        ]
    }

    /// Binds everything, proxies until `stop` is requested (or TERMINATE), then stops both
    /// devices and closes every socket.
    /// - Throws: ``ConfigError`` when a CURVE file or directory cannot be used, and
    ///   ``DaemonError`` when a socket cannot be bound; nothing is left bound then.
    public func run(stop: StopSignal) throws {
        let access = try config.curveAccess()
        let context = try ZMQContext()
        defer { context.terminate() }
        if let access {
            do { zap = try ZAPHandler(context: context, access: access, logger: logger) } catch let e as ZMQError {
                throw DaemonError.socket(role: "ZAP handler", endpoint: "inproc://zeromq.zap.01", underlying: e)
            }
        }
        defer { zap?.close() }
        let sides = self.sides
        let bound = Locked<[String: Result<[String: String], any Error>]>([:])
        let done = DispatchSemaphore(value: 0)
        for side in sides {
            let hwm = Int32(config.highWaterMark)
            let maxSize = Int64(config.maxMessageSize)
            let t = Thread {
                defer { done.signal() }
                var role = side.frontend
                do {
                    let f = try ZMQSocket(context, type: .xsub, lingerMilliseconds: 0)
                    let b = try ZMQSocket(context, type: .xpub, lingerMilliseconds: 0)
                    let c = try ZMQSocket(context, type: .pair, lingerMilliseconds: 0)
                    defer {
                        f.close()
                        b.close()
                        c.close()
                    }
                    try f.setReceiveHighWaterMark(hwm)
                    // Producers are cut here, one by one, rather than at the daemons (input side;
                    // the output side's frontend reads only ngd's own daemons).
                    if side.name == "input" { try f.setMaximumMessageSize(bytes: maxSize) }
                    try b.setSendHighWaterMark(hwm)
                    try access?.makeServer(f, domain: side.frontend.domain)
                    try access?.makeServer(b, domain: side.backend.domain)
                    try f.bind(side.frontend.endpoint)
                    role = side.backend
                    try b.bind(side.backend.endpoint)
                    try c.bind(side.controlEndpoint)
                    let endpoints = [side.frontend.role: try f.lastEndpoint(), side.backend.role: try b.lastEndpoint()]
                    bound.withLock { $0[side.name] = .success(endpoints) }
                    try ZMQSocket.proxySteerable(frontend: f, backend: b, control: c)
                } catch let e as ZMQError where e.isTerminated {
                } catch let e as ZMQError {
                    bound.withLock {
                        $0[side.name] = .failure(
                            DaemonError.socket(role: "proxy \(role.role)", endpoint: role.endpoint, underlying: e))
                    }
                } catch { bound.withLock { $0[side.name] = .failure(error) } }
            }
            t.name = "ngd-proxy-\(side.name)"
            t.start()
        }
        while bound.value.count < sides.count { Thread.sleep(forTimeInterval: 0.005) }
        var failure: (any Error)?
        var endpoints: [String: String] = [:]
        for side in sides {
            switch bound.value[side.name] {
            case .success(let e)?: endpoints.merge(e) { a, _ in a }
            case .failure(let e)?: failure = failure ?? e
            case nil: break
            }
        }
        var outer: ZMQSocket?
        var http: MetricsServer?
        var inner: [ZMQSocket] = []
        /// Stops the devices: TERMINATE through their control PAIRs; after a failed start also
        /// the context's end, which stops a device whose PAIR was never connected.
        func shutdown(failed: Bool) {
            for r in inner {
                _ = try? r.send(["TERMINATE"])
                r.close()
            }
            outer?.close()
            http?.socket.close()
            if failed {
                zap?.close()
                context.terminate()
            }
            for _ in sides { done.wait() }
        }
        /// A socket of this loop bound at `endpoint`; a libzmq failure names `role` and `endpoint`.
        func own(
            _ type: ZMQSocketType, _ role: String, _ endpoint: String, _ domain: CurveAccess.Domain?
        ) throws
            -> ZMQSocket
        {
            do {
                let s = try ZMQSocket(context, type: type, lingerMilliseconds: 0)
                if let domain { try access?.makeServer(s, domain: domain) }
                try s.bind(endpoint)
                return s
            } catch let e as ZMQError { throw DaemonError.socket(role: role, endpoint: endpoint, underlying: e) }
        }
        if failure == nil {
            do {
                let s = try own(.rep, "proxy control", config.control, .control)
                outer = s
                endpoints["control"] = try s.lastEndpoint()
                if let endpoint = config.metricsEndpoint {
                    let m = try own(.stream, "proxy metrics", endpoint, nil)
                    http = MetricsServer(socket: m)
                    endpoints["metrics"] = try m.lastEndpoint()
                }
                for side in sides {
                    let r = try ZMQSocket(context, type: .pair, lingerMilliseconds: 0)
                    inner.append(r)
                    try r.setReceiveTimeout(milliseconds: 5000)
                    try r.connect(side.controlEndpoint)
                }
            } catch { failure = error }
        }
        if let failure {
            shutdown(failed: true)
            throw failure
        }
        guard let outer else { return }
        onReady?(endpoints)
        logger.notice(
            "serving",
            metadata: endpoints.mapValues { .string($0) }.merging(
                [
                    "curve": .string(access == nil ? "off" : "on"), "hwm": "\(config.highWaterMark)",
                    "metrics": .string(endpoints["metrics"].map(MetricsServer.url(forEndpoint:)) ?? "off"),
                ]
            ) { _, new in new })
        notifier.notify("READY=1\nSTATUS=proxying\nMAINPID=\(getpid())")
        // Poll order: control, then the ZAP handler and the metrics endpoint when present.
        var poller = ZMQPoller([outer] + (zap.map { [$0.socket] } ?? []) + (http.map { [$0.socket] } ?? []))
        let metrics = http.map { _ in ProxyMetrics(started: Date()) }
        while !stop.isRequested {
            notifier.watchdogIfDue()
            let ready = try poller.poll(timeoutMilliseconds: 100)
            if reloadSignal.take() { zap?.reload() }
            if let zap, ready[1] { try zap.handle() }
            if let http, let metrics, ready.last == true {
                // Asked of the devices only for a complete request; a device that does not answer
                // leaves its counters out of this scrape rather than stopping the proxy.
                try http.serve {
                    metrics.render((try? self.counters(inner, sides)) ?? [], authFailures: zap?.failures ?? 0)
                }
            }
            guard ready[0], let request = try outer.receive(wait: false) else { continue }
            let command = request.count == 1 ? String(decoding: request[0], as: UTF8.self).uppercased() : ""
            switch command {
            case "PAUSE", "RESUME":
                for r in inner { try r.send([command]) }
                try outer.send([[UInt8]()])
                logger.notice(command == "PAUSE" ? "paused" : "resumed")
            case "STATISTICS": try outer.send([Array(try statistics(inner, sides).utf8)])
            case "TERMINATE":
                try outer.send([[UInt8]()])
                stop.request()
            default:
                try outer.send([
                    Array(#"{"error": "unknown command; send PAUSE, RESUME, STATISTICS or TERMINATE"}"#.utf8)
                ])
            }
        }
        notifier.notify("STOPPING=1")
        shutdown(failed: false)
        logger.notice("stopped")
    }

    /// Each device's eight counters, in libzmq's order: frontend messages in, bytes in,
    /// messages out, bytes out, then the same for the backend.
    func counters(_ inner: [ZMQSocket], _ sides: [Side]) throws -> [(side: String, values: [UInt64])] {
        try zip(inner, sides).map { r, side in
            try r.send(["STATISTICS"])
            let frames = try r.receive() ?? []
            let values = frames.filter { $0.count == 8 }.map { f in
                f.enumerated().reduce(UInt64(0)) { v, e in v | UInt64(e.element) << (8 * UInt64(e.offset)) }
            }
            return (side.name, values)
        }
    }

    /// Both sides' eight counters as one JSON object, and the refused CURVE handshakes.
    func statistics(_ inner: [ZMQSocket], _ sides: [Side]) throws -> String {
        let names = [
            "frontend_messages_in", "frontend_bytes_in", "frontend_messages_out", "frontend_bytes_out",
            "backend_messages_in", "backend_bytes_in", "backend_messages_out", "backend_bytes_out",
        ]
        var w = JSONWriter()
        w.beginObject()
        for (side, values) in try counters(inner, sides) {
            w.key(side)
            w.beginObject()
            for (name, v) in zip(names, values) {
                w.key(name)
                w.value(v)
            }
            w.endObject()
        }
        w.key("auth_failures")
        w.value(UInt64(zap?.failures ?? 0))
        w.endObject()
        return w.string
    }
}
