import Foundation
import Logging
import NGDMath
import NGDSystem
import NGDWire
import Synchronization
import ZeroMQ

/// A flag another thread sets to ask the serve loop to stop.
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func request() { flag.store(true, ordering: .releasing) }
    public var isRequested: Bool { flag.load(ordering: .acquiring) }
    /// Whether it was requested, clearing the request (for signals that recur, like SIGHUP).
    public func take() -> Bool { flag.exchange(false, ordering: .acquiringAndReleasing) }
}

/// The daemon's main loop: socket → decode → model → encode → socket.
///
/// It owns every ZeroMQ socket and every model, and runs on one dedicated thread (``run(stop:)``
/// blocks). Each turn it polls the control and input sockets, and the ZAP handler and the
/// metrics endpoint when configured (at most 100 ms), answers one control request, handles
/// queued input messages (up to 256, or 50 ms), then publishes stats, saves checkpoints and pets
/// the systemd watchdog when they are due.
///
/// Shutdown (``StopSignal/request()``): stop intake (close the input), checkpoint every model,
/// send `STOPPING=1`, close the other sockets with a finite linger, terminate the context.
public final class ServeLoop: ThreadedLoop {
    public let threadName = "ngd-serve"
    let config: DaemonConfig
    let registry: ModelRegistry
    var logger: Logger
    let notifier: SystemdNotifier
    let started = Date()
    /// Endpoints actually bound, once ``run(stop:)`` has bound them (ports resolved from `*`).
    public private(set) var boundEndpoints: (input: String, output: String, control: String)?
    /// Called on the loop thread once every socket is bound, before `READY=1`.
    public var onReady: (@Sendable (_ input: String, _ output: String, _ control: String) -> Void)?

    private var output: ZMQSocket!
    private var lastStats = ContinuousClock.now
    private var lastCheckpoint = ContinuousClock.now
    private var rejectLog = LogRateLimit()
    /// Set on SIGHUP: re-read the CURVE key directories at the next turn.
    public let reloadSignal = StopSignal()
    /// The ZAP handler while serving with CURVE.
    private var zap: ZAPHandler?
    /// CURVE handshakes refused since start (`auth_failures` in `status`).
    var authFailures: Int { zap?.failures ?? 0 }
    private var refusalLog = LogRateLimit()
    private var gapLog = LogRateLimit()
    private lazy var writer = CheckpointWriter(directory: registry.stateDirectory)
    /// The Prometheus metrics, when `metrics` is set.
    private(set) var metrics: DaemonMetrics?
    /// The metrics endpoint actually bound (`tcp://HOST:PORT`), when `metrics` is set.
    public private(set) var boundMetricsEndpoint: String?

    public init(
        config: DaemonConfig, registry: ModelRegistry, logger: Logger, notifier: SystemdNotifier = SystemdNotifier()
    ) {
        self.config = config
        self.registry = registry
        self.logger = logger
        self.notifier = notifier
    }

    private func socket(
        _ ctx: ZMQContext, _ type: ZMQSocketType, role: String, endpoint: String, mode: SocketMode,
        configure: (ZMQSocket) throws -> Void
    ) throws -> (ZMQSocket, String) {
        do {
            let s = try ZMQSocket(ctx, type: type, lingerMilliseconds: Int32(config.lingerMilliseconds))
            try configure(s)
            if mode == .bind {
                try s.bind(endpoint)
                return (s, try s.lastEndpoint())
            }
            try s.connect(endpoint)
            return (s, endpoint)
        } catch let e as ZMQError { throw DaemonError.socket(role: role, endpoint: endpoint, underlying: e) }
    }

    /// Binds every socket, serves until `stop` is requested, then shuts down gracefully.
    /// - Throws: ``DaemonError`` when a socket cannot be set up (nothing has been learned then),
    ///   or when the checkpoint at shutdown fails.
    public func run(stop: StopSignal) throws {
        // CURVE keys are read before anything is bound: a missing directory binds nothing.
        let access = try CurveAccess.load(config)
        let proxyKey = try CurveAccess.proxyKey(config)
        let ctx = try ZMQContext()
        defer { ctx.terminate() }
        // The ZAP handler is bound before any CURVE socket, so no handshake passes unchecked.
        var zap: ZAPHandler?
        if let access {
            do { zap = try ZAPHandler(context: ctx, access: access, logger: logger) } catch let e as ZMQError {
                throw DaemonError.socket(role: "ZAP handler", endpoint: "inproc://zeromq.zap.01", underlying: e)
            }
        }
        self.zap = zap
        defer { zap?.close() }
        /// A bound socket is a CURVE server of `domain`; a connected one is a client of the proxy
        /// when `curve.proxy_key` is set.
        func secure(_ s: ZMQSocket, _ domain: CurveAccess.Domain, _ mode: SocketMode) throws {
            guard let access else { return }
            if mode == .connect, let proxyKey {
                try s.setCurveClient(
                    serverKey: proxyKey, publicKey: access.serverPublicKey, secretKey: access.serverSecretKey)
            } else {
                try access.makeServer(s, domain: domain)
            }
        }
        // Connected sockets are watched: libzmq does not retry a refused handshake by itself.
        var upstream: [UpstreamConnection] = []
        defer { for u in upstream { u.close() } }
        func watch(_ s: ZMQSocket, _ role: String, _ endpoint: String, _ mode: SocketMode) throws {
            guard mode == .connect else { return }
            upstream.append(
                try UpstreamConnection(socket: s, context: ctx, role: role, endpoint: endpoint, logger: logger))
        }
        let inputType: ZMQSocketType = config.inputPattern == .sub ? .sub : .pull
        let (input, inputEndpoint) = try socket(
            ctx, inputType, role: "input", endpoint: config.input, mode: config.inputMode
        ) { s in
            try secure(s, .input, config.inputMode)
            try watch(s, "input", config.input, config.inputMode)
            try s.setReceiveHighWaterMark(Int32(config.receiveHighWaterMark))
            // libzmq drops the peer of an oversize message, and ends that session for good: a
            // protocol error (oversize, refused handshake) is never reconnected, only a lost
            // connection is. Bound, the peer is the producer that sent it. Connected, it is the
            // proxy this daemon reaches: measured with libzmq 4.3.4, after one oversize message
            // through `ngd proxy` the daemon received none of the next 200 over 4 s. So a
            // connected input checks sizes itself (handleInput).
            if config.inputMode == .bind { try s.setMaximumMessageSize(bytes: Int64(config.maxMessageSize)) }
            if inputType == .sub {
                switch config.subscribe {
                case .all: try s.subscribe("")
                case .models: for m in registry.models { try s.subscribe(m.config.topic) }
                }
            }
        }
        let (out, outputEndpoint) = try socket(
            ctx, .pub, role: "output", endpoint: config.output, mode: config.outputMode
        ) { s in
            try secure(s, .output, config.outputMode)
            try watch(s, "output", config.output, config.outputMode)
            try s.setSendHighWaterMark(Int32(config.sendHighWaterMark))
        }
        output = out
        let (control, controlEndpoint) = try socket(
            ctx, .router, role: "control", endpoint: config.control, mode: .bind
        ) {
            s in
            try secure(s, .control, .bind)
            try s.setMaximumMessageSize(bytes: Int64(config.maxMessageSize))
        }
        var http: MetricsServer?
        if let endpoint = config.metricsEndpoint {
            let (s, bound) = try socket(ctx, .stream, role: "metrics", endpoint: endpoint, mode: .bind) { _ in }
            http = MetricsServer(socket: s)
            metrics = DaemonMetrics(models: registry.models.map(\.name), started: started)
            boundMetricsEndpoint = bound
        }
        defer { http?.socket.close() }
        boundEndpoints = (inputEndpoint, outputEndpoint, controlEndpoint)
        onReady?(inputEndpoint, outputEndpoint, controlEndpoint)
        logger.notice(
            "serving",
            metadata: [
                "input": "\(inputEndpoint)", "pattern": "\(config.inputPattern.rawValue)",
                "mode": "\(config.inputMode.rawValue)", "output": "\(outputEndpoint)", "control": "\(controlEndpoint)",
                "models": "\(registry.models.map(\.name).joined(separator: ","))", "blas": "\(BLASCore.name)",
                "metrics": "\(boundMetricsEndpoint.map(MetricsServer.url(forEndpoint:)) ?? "off")",
                "curve": "\(access == nil ? "off" : proxyKey == nil ? "on" : "on-proxy-client")",
            ])
        // The worst case of the input queue, said once at start (docs/protocol.md, Memory).
        if let bound = config.inputQueueBound {
            // Connected, the upstream's limit (ngd proxy --max-message-size) bounds each message;
            // the bound assumes it is at most this daemon's, as docs/protocol.md asks.
            let text =
                config.inputMode == .bind
                ? "\(config.receiveHighWaterMark) messages × \(config.maxMessageSize) bytes per producer"
                : "\(config.receiveHighWaterMark) messages × \(config.maxMessageSize) bytes from the proxy, "
                    + "if its --max-message-size is at most max_message_size"
            if let m = ProcessStatus.physicalMemoryBytes, bound > m / 2 {
                logger.warning(
                    "input queue may outgrow memory",
                    metadata: [
                        "bound": "\(text)", "memory": "\(m) bytes", "fix": "lower receive_hwm or max_message_size",
                    ])
            } else {
                logger.info("input queue bound", metadata: ["bound": "\(text)"])
            }
        } else {
            logger.warning("input queue is unbounded", metadata: ["fix": "set receive_hwm above 0"])
        }
        notifier.notify(
            "READY=1\nSTATUS=serving \(registry.models.count) model(s) on \(inputEndpoint)\nMAINPID=\(getpid())")

        // Poll order: control, input, then the ZAP handler and the metrics endpoint when present.
        let extra = (zap.map { [$0.socket] } ?? []) + (http.map { [$0.socket] } ?? [])
        var poller = ZMQPoller([control, input] + extra)
        let zapIndex = zap == nil ? nil : 2
        let httpIndex = http == nil ? nil : 2 + (zap == nil ? 0 : 1)
        do {
            while !stop.isRequested {
                let ready = try poller.poll(timeoutMilliseconds: pollTimeout())
                let turnStart = ContinuousClock.now
                if reloadSignal.take() { zap?.reload() }
                if let zap, let i = zapIndex, ready[i] { try zap.handle() }
                for u in upstream { u.turn(now: turnStart) }
                if let http, let i = httpIndex, ready[i] {
                    try http.serve { [unowned self] in
                        metrics?.render(models: registry.models, authFailures: authFailures) ?? []
                    }
                }
                if ready[0] { try handleControl(control) }
                if ready[1] {
                    // Up to 256 messages or 50 ms, whichever comes first, so that control
                    // requests, timers and the watchdog keep their turn under heavy load.
                    let turnEnd = ContinuousClock.now + .milliseconds(50)
                    var handled = 0
                    while handled < 256, !stop.isRequested, let frames = try input.receive(wait: false) {
                        handleInput(frames)
                        handled += 1
                        if ContinuousClock.now >= turnEnd { break }
                    }
                }
                try timers()
                notifier.watchdogIfDue()
                if let metrics, ready.contains(true) { metrics.recordTurn(ContinuousClock.now - turnStart) }
            }
        } catch let e as ZMQError where e.isTerminated { logger.notice("context terminated; shutting down") }

        // Graceful shutdown: stop intake first, so nothing is learned after the checkpoint.
        input.close()
        notifier.notify("STOPPING=1\nSTATUS=saving checkpoints")
        logger.notice("stopping: saving checkpoints")
        let saved = saveAll(reason: "shutdown")
        control.close()
        output.close()
        output = nil
        // A failed final save is an error exit, so that the operator (and systemd) see it.
        guard saved.errors.isEmpty else { throw DaemonError.shutdownCheckpointFailed(saved.errors) }
        logger.notice("stopped")
    }

    // MARK: Input

    func publish(_ kind: OutputKind, model: String?, _ payload: [UInt8]) {
        // PUB never blocks: a slow subscriber loses messages past its high-water mark.
        _ = try? output.send([Array(kind.topic(model: model).utf8), payload], wait: false)
    }

    func reject(model: HostedModel?, id: MessageID, reason: String, class kind: DaemonMetrics.RejectionClass) {
        model?.rejectedMessages += 1
        metrics?.reject(kind, model: model?.name)
        // A misbehaving producer must not flood the journal: at most 10 lines a minute, then a count.
        rejectLog.log(logger, "rejected messages not logged") {
            logger.warning("rejected message", metadata: ["model": "\(model?.name ?? "-")", "reason": "\(reason)"])
        }
        publish(.error, model: model?.name, ErrorMessage(model: model?.name, id: id, reason: reason).encode())
    }

    /// For a model with `sequenced_ids`: notes the id, and warns (at most 10 lines a minute) when
    /// messages are missing before it: replicas that miss different messages diverge.
    func noteSequence(_ model: HostedModel, _ id: MessageID) {
        guard model.config.sequencedIDs else { return }
        let missing = model.noteSequence(id)
        guard missing > 0 else { return }
        gapLog.log(logger, "gaps in message ids not logged") {
            logger.warning(
                "gap in message ids: messages missing before this one",
                metadata: ["model": "\(model.name)", "missing": "\(missing)", "total": "\(model.missedMessages)"])
        }
    }

    /// Handles one input message; every failure becomes an `error.` message and changes nothing.
    func handleInput(_ frames: [[UInt8]]) {
        let model = frames.first.flatMap { registry.model(topic: $0) }
        guard frames.count == 2 else {
            reject(
                model: model, id: .none, reason: "expected 2 frames [topic, payload], got \(frames.count)",
                class: .frames)
            return
        }
        guard let model else {
            // On a shared bus, topics that merely share a prefix with a model's are not ours.
            if config.subscribe == .models && config.inputPattern == .sub { return }
            let known = registry.models.map(\.config.topic).joined(separator: ", ")
            let topic = frames.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
            reject(
                model: nil, id: .none, reason: "unknown topic '\(topic)': no model has it (topics: \(known))",
                class: .topic)
            return
        }
        guard frames[1].count <= config.maxMessageSize else {
            // An NGD1 id is in its header; a JSON one would cost parsing the whole oversize text.
            let id = frames[1].starts(with: NGD1.magic) ? SampleMessage.readableID(frames[1]) : .none
            noteSequence(model, id)
            reject(
                model: model, id: id,
                reason:
                    "a message of \(frames[1].count) bytes is larger than max_message_size (\(config.maxMessageSize))",
                class: .size)
            return
        }
        let message: SampleMessage
        do { message = try SampleMessage.decode(frames[1]) } catch {
            let id = SampleMessage.readableID(frames[1])
            noteSequence(model, id)
            reject(model: model, id: id, reason: "\(error)", class: .decode)
            return
        }
        noteSequence(model, message.id)
        let outcome: MessageOutcome
        do { outcome = try model.process(message) } catch {
            reject(model: model, id: message.id, reason: "\(error)", class: .input)
            return
        }
        metrics?.count(outcome.learned ? .learned : message.y == nil ? .predicted : .paused, model: model.name)
        let width = model.network.architecture.outputSize
        publish(
            .prediction, model: model.name,
            PredictionMessage(
                model: model.name, seq: model.seq, request: message, values: outcome.predictions, width: width
            ).encode())
        if let mse = outcome.mse, let loss = outcome.loss, model.labelledMessages % config.lossEvery == 0 {
            let categorical = model.network.architecture.likelihood == .categorical
            let report = LossMessage(
                model: model.name, seq: model.seq, id: message.id, count: message.count, mse: mse, loss: loss,
                lossEMA: model.lossEMA ?? loss, samples: model.samples, logLoss: categorical ? loss : nil,
                accuracy: outcome.accuracy)
            publish(.loss, model: model.name, report.encode())
        }
        if let warning = model.pendingWarning {
            model.pendingWarning = nil
            logger.warning("\(warning)", metadata: ["model": "\(model.name)"])
        }
        if outcome.refusedSteps > 0 {
            refusalLog.log(logger, "refused steps not logged") {
                logger.warning(
                    "refused a step that would have made the model non-finite; the model is unchanged",
                    metadata: ["model": "\(model.name)", "total": "\(model.nonFiniteSteps)"])
            }
        }
    }

    // MARK: Timers

    /// Milliseconds until the next stats, checkpoint or watchdog deadline, within 1...100, so
    /// that the loop wakes in time when idle and still notices a stop request within 100 ms.
    func pollTimeout(now: ContinuousClock.Instant = .now) -> Int {
        var next = now + .milliseconds(100)
        if config.statsInterval > 0 { next = min(next, lastStats + .seconds(config.statsInterval)) }
        if config.checkpointInterval > 0 { next = min(next, lastCheckpoint + .seconds(config.checkpointInterval)) }
        if let w = notifier.nextWatchdog { next = min(next, w) }
        let ms = (next - now) / .milliseconds(1)
        return Int(min(max(ms.rounded(.up), 1), 100))
    }

    func timers() throws {
        let now = ContinuousClock.now
        if config.statsInterval > 0, now - lastStats >= .seconds(config.statsInterval) {
            lastStats = now
            for m in registry.models {
                publish(.stats, model: m.name, statsMessage(m, samplesPerSecond: m.takeSampleRate()).encode())
            }
        }
        if config.checkpointInterval > 0, now - lastCheckpoint >= .seconds(config.checkpointInterval) {
            lastCheckpoint = now
            for m in registry.models {
                let snapshot: ModelCheckpoint
                do { snapshot = try m.checkpoint() } catch {
                    logger.error("checkpoint skipped", metadata: ["model": "\(m.name)", "error": "\(error)"])
                    continue
                }
                if !writer.submit(snapshot) {
                    logger.debug(
                        "previous checkpoint still being written; skipping this one", metadata: ["model": "\(m.name)"])
                }
            }
        }
        collectBackgroundSaves()
    }

    /// Records the interval saves the background writer has finished.
    func collectBackgroundSaves() {
        for c in writer.takeCompletions() {
            switch c.result {
            case .success:
                registry.model(named: c.model)?.lastCheckpoint = c.time
                logger.debug(
                    "checkpoint saved", metadata: ["model": "\(c.model)", "seq": "\(c.seq)", "reason": "interval"])
            case .failure(let e):
                registry.model(named: c.model)?.checkpointFailures += 1
                logger.error("checkpoint failed", metadata: ["model": "\(c.model)", "error": "\(e)"])
            }
        }
    }

    /// The model's `stats.` message; the sample rate is over the window since the last one.
    func statsMessage(_ m: HostedModel, samplesPerSecond: Double) -> StatsMessage {
        var s = StatsMessage(
            model: m.name, samplesPerSecond: samplesPerSecond, samples: m.samples, seq: m.seq, lossEMA: m.lossEMA,
            mseEMA: m.mseEMA, damping: m.damping, rejected: m.rejectedMessages, rejectedSteps: m.rejectedSteps,
            optimizer: m.config.optimizer.rawValue, paused: m.paused, uptime: Date().timeIntervalSince(started),
            checkpointAge: m.lastCheckpoint.map { Date().timeIntervalSince($0) })
        if m.config.sequencedIDs { s.missedMessages = m.missedMessages }
        return s
    }

    /// Saves every model now, on this thread, after any background save has finished; returns
    /// the paths written. A failed save is logged and the old file kept.
    @discardableResult func saveAll(reason: String) -> (paths: [String], errors: [String]) {
        writer.waitUntilIdle()
        collectBackgroundSaves()
        var paths: [String] = []
        var errors: [String] = []
        for m in registry.models {
            do {
                let p = try registry.save(m)
                paths.append(p)
                logger.info(
                    "checkpoint saved", metadata: ["model": "\(m.name)", "seq": "\(m.seq)", "reason": "\(reason)"])
            } catch {
                errors.append("\(error)")
                m.checkpointFailures += 1
                logger.error("checkpoint failed", metadata: ["model": "\(m.name)", "error": "\(error)"])
            }
        }
        return (paths, errors)
    }
}

/// At most 10 log lines a minute for one kind of event, then one line with the count of the
/// ones not logged.
struct LogRateLimit {
    private var start = ContinuousClock.now
    private var logged = 0
    private var suppressed = 0

    /// Runs `line` unless 10 have run in the current minute; the first call of a new minute
    /// first logs `summary` with the count suppressed in the last one.
    mutating func log(_ logger: Logger, _ summary: String, now: ContinuousClock.Instant = .now, line: () -> Void) {
        if now - start >= .seconds(60) {
            if suppressed > 0 { logger.warning("\(summary)", metadata: ["count": "\(suppressed)"]) }
            (start, logged, suppressed) = (now, 0, 0)
        }
        if logged < 10 {
            logged += 1
            line()
        } else {
            suppressed += 1
        }
    }
}
