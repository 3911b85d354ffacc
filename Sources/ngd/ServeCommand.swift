import ArgumentParser
import Foundation
import Logging
import NGDDaemon
import NGDMath
import ServiceLifecycle

/// Daemon and socket settings shared by `ngd serve` and `ngd demo`.
struct DaemonOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp("A TOML configuration file (see deploy/ngd.toml). Flags override it.", valueName: "file")
    )
    var configFile: String?
    @Option(help: ArgumentHelp("Input endpoint. (default: tcp://127.0.0.1:5555)", valueName: "endpoint"))
    var input: String?
    @Option(help: "Input pattern: sub (topics routed to models) or pull. (default: sub)")
    var inputPattern: InputPattern?
    @Option(help: "bind the input, or connect it to a producer's PUB / a proxy. (default: bind)")
    var inputMode: SocketMode?
    @Option(
        help:
            "SUB input: subscribe to all topics (unknown ones get an error) or only to the models' topics. (default: all)"
    )
    var subscribe: SubscriptionMode?
    @Option(help: ArgumentHelp("Output PUB endpoint. (default: tcp://127.0.0.1:5556)", valueName: "endpoint"))
    var output: String?
    @Option(help: ArgumentHelp("Control REP endpoint. (default: tcp://127.0.0.1:5557)", valueName: "endpoint"))
    var control: String?
    @Option(help: ArgumentHelp("Checkpoint directory. (default: $STATE_DIRECTORY, else ./ngd-state)", valueName: "dir"))
    var stateDir: String?
    @Option(
        help: ArgumentHelp(
            "Seconds between checkpoints; 0 saves only on command and at shutdown. (default: 300)",
            valueName: "s"
        )
    )
    var checkpointInterval: Double?
    @Option(help: ArgumentHelp("Seconds between stats messages; 0 turns them off. (default: 5)", valueName: "s"))
    var statsInterval: Double?
    @Option(help: ArgumentHelp("Publish loss for every Nth labelled message. (default: 1)", valueName: "n"))
    var lossEvery: Int?
    @Option(
        help: ArgumentHelp(
            "Largest input message in bytes; libzmq drops a peer that sends more. (default: 16777216)",
            valueName: "bytes"
        )
    )
    var maxMessageSize: Int?
    @Option(help: ArgumentHelp("Input queue limit in messages. (default: 10000)", valueName: "n"))
    var receiveHwm: Int?
    @Option(help: ArgumentHelp("Output queue limit per subscriber in messages. (default: 10000)", valueName: "n"))
    var sendHwm: Int?
    @Option(help: ArgumentHelp("Milliseconds unsent output may delay shutdown. (default: 1000)", valueName: "ms"))
    var linger: Int?
    @Option(help: "Log level.")
    var logLevel: Logger.Level = .info

    func apply(to c: inout DaemonConfig) {
        if let v = input { c.input = v }
        if let v = inputPattern { c.inputPattern = v }
        if let v = inputMode { c.inputMode = v }
        if let v = subscribe { c.subscribe = v }
        if let v = output { c.output = v }
        if let v = control { c.control = v }
        if let v = stateDir { c.stateDirectory = v }
        if let v = checkpointInterval { c.checkpointInterval = v }
        if let v = statsInterval { c.statsInterval = v }
        if let v = lossEvery { c.lossEvery = v }
        if let v = maxMessageSize { c.maxMessageSize = v }
        if let v = receiveHwm { c.receiveHighWaterMark = v }
        if let v = sendHwm { c.sendHighWaterMark = v }
        if let v = linger { c.lingerMilliseconds = v }
    }

    /// The file's configuration (or the defaults), with these flags applied.
    func load() throws -> DaemonConfig {
        var c = DaemonConfig()
        if let path = configFile {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw CommandFailure("cannot read --config \(path): \((error as NSError).localizedDescription)")
            }
            c = try DaemonConfig.parse(toml: text, file: path)
        }
        apply(to: &c)
        return c
    }
}

/// Settings of the `default` model, as flags.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Input topic of the default model. (default: default)", valueName: "topic"))
    var topic: String?
    @Option(help: ArgumentHelp("Layer sizes n0,n1,…,nL of the default model, e.g. 20,20,20.", valueName: "sizes"))
    var layers: String?
    @Option(help: "Hidden activation: identity, tanh, relu, sigmoid (the output is linear). (default: tanh)")
    var activation: Activation?
    @Flag(inversion: .prefixedNo, help: "Biases in every layer. (default: --bias)")
    var bias: Bool?
    @Option(help: "Optimizer: ngd, sgd or adam. (default: ngd)")
    var optimizer: OptimizerKind?
    @Option(
        help: ArgumentHelp(
            "η. NGD: ALGORITHM.md's η; SGD/Adam: on ½‖y−ŷ‖². (default: ngd 0.01, sgd 0.01, adam 0.001)",
            valueName: "η"
        )
    )
    var learningRate: Double?
    @Option(
        help: ArgumentHelp(
            "Samples per natural-gradient step: 1 is Sherman–Morrison, k > 1 one step per block of k (Woodbury factor updates). (default: 1)",
            valueName: "k"
        )
    )
    var batch: Int?
    @Option(help: ArgumentHelp("σ² of the output model; the loss is ½‖y−ŷ‖²/σ². (default: 1)", valueName: "σ²"))
    var outputNoise: Double?
    @Option(help: "Seed of the initial weights and of NGD's sampling. (default: 0)")
    var seed: UInt64?
    @Option(help: "NGD: λ_min, the damping floor. (default: 1e-8)")
    var minDamping: Double?
    @Option(help: "NGD: λ_max, the damping ceiling. (default: 10000)")
    var maxDamping: Double?
    @Option(help: "NGD: λ₀, the initial damping. (default: 0.01)")
    var damping: Double?
    @Option(help: "NGD: ε, the moving-average rate of the Fisher factors. (default: 0.003)")
    var factorRate: Double?
    @Option(
        help: ArgumentHelp(
            "NGD: update the Fisher factors on one block in n, for throughput (ALGORITHM.md's method is 1). (default: 1)",
            valueName: "n"
        )
    )
    var factorInterval: Int?
    @Option(help: ArgumentHelp("NGD: η_t = η/(1 + decay·t), t in samples. (default: 0.0001)", valueName: "decay"))
    var learningRateDecay: Double?

    var isEmpty: Bool {
        topic == nil && layers == nil && activation == nil && bias == nil && optimizer == nil && learningRate == nil
            && batch == nil && outputNoise == nil && seed == nil && minDamping == nil && maxDamping == nil
            && damping == nil
            && factorRate == nil && factorInterval == nil && learningRateDecay == nil
    }

    func apply(to m: inout ModelConfig) throws {
        if let v = layers {
            let parts = v.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            let sizes = parts.compactMap { Int($0) }
            guard sizes.count == parts.count else {
                throw ConfigError(key: "--layers", "'\(v)' is not a comma-separated list of integers such as 20,20,20")
            }
            m.layers = sizes
        }
        if let v = topic { m.topic = v }
        if let v = activation { m.activation = v }
        if let v = bias { m.bias = v }
        if let v = optimizer { m.optimizer = v }
        if let v = learningRate { m.learningRate = v }
        if let v = batch { m.batch = v }
        if let v = outputNoise { m.outputNoise = v }
        if let v = seed { m.seed = v }
        if let v = minDamping {
            m.minimumDamping = v
            if damping == nil { m.damping = max(m.damping, v) }
        }
        if let v = maxDamping { m.maximumDamping = v }
        if let v = damping { m.damping = v }
        if let v = factorRate { m.factorRate = v }
        if let v = factorInterval { m.factorInterval = v }
        if let v = learningRateDecay { m.learningRateDecay = v }
    }
}

extension InputPattern: ExpressibleByArgument {}
extension SocketMode: ExpressibleByArgument {}
extension SubscriptionMode: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `ngd serve`: the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Learn online from a ZeroMQ stream; publish predictions, loss and stats.",
        discussion: """
            Input messages are two frames, [topic, payload], with a JSON or NGD1 payload \
            (docs/protocol.md). Each labelled message is predicted, scored and then learned \
            (test-then-train). Output topics are prediction.<model>, loss.<model>, stats.<model> \
            and error.<model>. Control requests (JSON over REQ/REP): status, predict, checkpoint, \
            pause, resume.

            Model flags configure the model called `default`; a --config file can define several. \
            SIGTERM or SIGINT stops intake, saves every model and exits 0.

            Example: ngd serve --layers 20,20,20 --state-dir /tmp/ngd
            """
    )

    @OptionGroup(title: "Daemon") var daemon: DaemonOptions
    @OptionGroup(title: "Default model") var model: ModelOptions

    /// The configuration: file, then flags; model flags go to the `default` model.
    func resolvedConfig() throws -> DaemonConfig {
        var c = try daemon.load()
        if !model.isEmpty {
            var failure: (any Error)?
            c.withModel("default") { m in
                do { try model.apply(to: &m) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        try c.validate()
        return c
    }

    func run() async throws {
        let config: DaemonConfig
        do { config = try resolvedConfig() } catch let e as ConfigError { throw CommandFailure(e.description) }
        let level = daemon.logLevel
        LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level) }
        let logger = Logger(label: "ngd")
        try await Self.serve(config: config, logger: logger)
    }

    /// Loads the models (refusing bad checkpoints before any socket exists) and serves until
    /// SIGTERM or SIGINT.
    static func serve(config: DaemonConfig, logger: Logger) async throws {
        let registry: ModelRegistry
        do { registry = try ModelRegistry(config: config, logger: logger) } catch let e as CheckpointError {
            throw CommandFailure(e.description)
        }
        let loop = ServeLoop(config: config, registry: registry, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: DaemonService(loop: loop), successTerminationBehavior: .gracefullyShutdownGroup)
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do { try await group.run() } catch {
            throw CommandFailure("\(error)")
        }
    }
}
