import ArgumentParser
import Foundation
import Logging
import NGDDaemon
import NGDMath
import ServiceLifecycle

extension InputPattern: ExpressibleByArgument {}
extension SocketMode: ExpressibleByArgument {}
extension SubscriptionMode: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `ngd serve`: the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Learn online from a ZeroMQ stream; publish predictions, loss and stats.",
        discussion: """
            Input messages are two frames, [topic, payload], with a JSON or NGD1 payload \
            (docs/protocol.md). Each labelled message is predicted, scored and then learned \
            (test-then-train). Output topics are prediction.<model>, loss.<model>, stats.<model> \
            and error.<model>. Control requests (JSON from a REQ socket): status, predict, checkpoint, \
            pause, resume.

            Model flags configure the model called `default`; a --config file can define several. \
            SIGTERM or SIGINT stops intake, saves every model and exits 0.

            Example: ngd serve --layers 20,20,20 --state-dir /tmp/ngd
            """ + "\n\n"
                + FlagSpec.helpSection(
                    "DAEMON SETTINGS (flags, or keys of the [daemon] table of --config):", FlagSpec.daemon) + "\n\n"
                + FlagSpec.helpSection(
                    "MODEL SETTINGS of the model `default` (flags, or keys of a [models.NAME] table):", FlagSpec.model))

    @Option(
        name: .customLong("config"),
        help: ArgumentHelp("A TOML configuration file (see deploy/ngd.toml). Flags override it.", valueName: "file"))
    var configFile: String?
    @Option(help: "Log level.") var logLevel: Logger.Level = .info
    @OptionGroup var settings: SettingFlags

    func validate() throws {
        // Unknown flags and unreadable values are usage errors, reported with this command's usage.
        _ = try settings.values(FlagSpec.daemon + FlagSpec.model)
    }

    /// The configuration: the file (or the defaults), then the flags; model flags go to the
    /// model called `default`.
    func resolvedConfig() throws -> DaemonConfig {
        var c = DaemonConfig()
        if let path = configFile {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw CommandFailure("cannot read --config \(path): \((error as NSError).localizedDescription)")
            }
            c = try DaemonConfig.parse(toml: text, file: path)
        }
        try applyFlags(to: &c)
        try c.validate()
        return c
    }

    /// Applies the setting flags to `c`, without validating the result.
    func applyFlags(to c: inout DaemonConfig) throws {
        let daemonNames = Dictionary(uniqueKeysWithValues: DaemonSettingName.allCases.map { ($0.flag, $0) })
        let modelNames = Dictionary(
            ModelConfig.settings.map { ($0.setting.name.flag, $0.setting.name) },
            uniquingKeysWith: { first, _ in first })
        var model: [(ModelSettingName, SettingValue)] = []
        for (flag, value) in try settings.values(FlagSpec.daemon + FlagSpec.model) {
            if let name = daemonNames[flag] {
                try c.set(name, value)
            } else if let name = modelNames[flag] {
                model.append((name, value))
            }
        }
        if !model.isEmpty {
            try c.withModel("default") { m throws(ConfigError) in
                // The optimizer first: it decides which table the training settings go to.
                for (name, value) in model where name == .optimizer { try m.set(name, value) }
                for (name, value) in model where name != .optimizer { try m.set(name, value) }
            }
        }
    }

    func run() async throws {
        let config: DaemonConfig
        do { config = try resolvedConfig() } catch let e as ConfigError { throw CommandFailure(e.description) }
        let level = logLevel
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
                ], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do { try await group.run() } catch { throw CommandFailure("\(error)") }
    }
}
