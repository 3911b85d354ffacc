import ArgumentParser
import Logging
import NGDDaemon
import ServiceLifecycle

/// `ngd proxy`: libzmq's own XSUB/XPUB proxy (`zmq_proxy_steerable`), twice, between producers,
/// daemons and subscribers, so that many daemons share one input and one output endpoint.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Forward producers to many daemons and the daemons to subscribers, through libzmq's proxy.",
        discussion: """
            Two zmq_proxy_steerable devices, each on its own thread:
              input side:  producers' PUBs connect to --input (XSUB); daemons connect their SUB \
            input to --to-daemons (XPUB) with input_mode = "connect" and subscribe = "models".
              output side: daemons connect their PUB output to --from-daemons (XSUB) with \
            output_mode = "connect"; subscribers connect to --output (XPUB).
            Subscriptions travel upstream, so each daemon receives only its models' topics and \
            every subscriber reads every daemon's output from one endpoint.

            The control endpoint (REP) answers the steerable commands, as one-frame strings: \
            PAUSE and RESUME (both sides; empty reply), STATISTICS (a JSON object of both sides' \
            counters: messages and bytes received and sent by each socket, and auth_failures, the \
            refused CURVE handshakes) and TERMINATE (stops the proxy, as SIGTERM does). With \
            --metrics the same counters are served to Prometheus as ngd_proxy_messages_total and \
            ngd_proxy_bytes_total (labels side, socket, direction) and ngd_proxy_auth_failures_total. `ngd tail --proxy ENDPOINT` prints the statistics.

            With --curve-server-key every socket is a CURVE server and admits only the public \
            certificates in its own directory: producers (--input), daemons (--to-daemons and \
            --from-daemons; each daemon sets [daemon.curve] proxy_key to this proxy's .key), \
            subscribers (--output) and admins (--control). SIGHUP reads the directories again.
            """)

    @Option(help: ArgumentHelp("Where producers' PUBs connect (XSUB).", valueName: "endpoint")) var input =
        ProxyConfig().input
    @Option(help: ArgumentHelp("Where daemons' SUB inputs connect (XPUB).", valueName: "endpoint")) var toDaemons =
        ProxyConfig().toDaemons
    @Option(help: ArgumentHelp("Where daemons' PUB outputs connect (XSUB).", valueName: "endpoint"))
    var fromDaemons = ProxyConfig().fromDaemons
    @Option(help: ArgumentHelp("Where subscribers connect (XPUB).", valueName: "endpoint")) var output =
        ProxyConfig().output
    @Option(help: ArgumentHelp("Control endpoint (REP): PAUSE, RESUME, STATISTICS, TERMINATE.", valueName: "endpoint"))
    var control = ProxyConfig().control
    @Option(
        help: ArgumentHelp(
            "The largest message a producer may send to --input, in bytes; a producer that sends more is disconnected. At most the daemons' max_message_size.",
            valueName: "bytes")) var maxMessageSize = ProxyConfig().maxMessageSize
    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics (GET /metrics, plain HTTP) on this HOST:PORT, e.g. 127.0.0.1:9558; off by default.",
            valueName: "host:port")) var metrics = ""
    @Option(help: ArgumentHelp("Messages queued per peer on each socket (0: unlimited).", valueName: "n")) var hwm =
        ProxyConfig().highWaterMark
    @Option(
        help: ArgumentHelp(
            "The proxy's secret certificate (NAME.key_secret from `ngd keygen`); empty is plain text.",
            valueName: "file"))
    var curveServerKey = ""
    @Option(help: ArgumentHelp("CURVE: .key certificates allowed to publish to --input.", valueName: "dir"))
    var curveProducers = ""
    @Option(
        help: ArgumentHelp("CURVE: the daemons' .key certificates (--to-daemons, --from-daemons).", valueName: "dir"))
    var curveDaemons = ""
    @Option(help: ArgumentHelp("CURVE: .key certificates allowed to subscribe to --output.", valueName: "dir"))
    var curveSubscribers = ""
    @Option(help: ArgumentHelp("CURVE: .key certificates allowed to use --control.", valueName: "dir"))
    var curveAdmins = ""
    @Option(help: "Log level.") var logLevel: Logger.Level = .info

    var config: ProxyConfig {
        var c = ProxyConfig()
        (c.input, c.toDaemons, c.fromDaemons, c.output, c.control) = (input, toDaemons, fromDaemons, output, control)
        c.highWaterMark = hwm
        c.metrics = metrics
        c.maxMessageSize = maxMessageSize
        (c.curveServerKey, c.curveProducers, c.curveDaemons) = (curveServerKey, curveProducers, curveDaemons)
        (c.curveSubscribers, c.curveAdmins) = (curveSubscribers, curveAdmins)
        return c
    }

    func validate() throws {
        do { try config.validate() } catch { throw ValidationError(error.description) }
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level) }
        let logger = Logger(label: "ngd-proxy")
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(
                        service: DaemonService(loop: ProxyLoop(config: config, logger: logger)),
                        successTerminationBehavior: .gracefullyShutdownGroup)
                ], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do { try await group.run() } catch { throw CommandFailure("\(error)") }
    }
}
