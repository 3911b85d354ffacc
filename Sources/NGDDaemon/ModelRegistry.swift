import Foundation
import Logging
import NGDMath

/// The daemon's models, by name and by input topic.
///
/// Thread safety: none; the serve loop's thread owns it once serving starts.
public final class ModelRegistry {
    /// In configuration order.
    public let models: [HostedModel]
    /// Keyed by the topic's bytes: routing compares bytes, not Unicode-equivalent strings.
    private let byTopic: [[UInt8]: HostedModel]
    private let byName: [String: HostedModel]
    public let stateDirectory: String

    /// Builds every configured model, restoring each from `state_dir/NAME.ngdckpt` when present.
    ///
    /// A checkpoint whose architecture or optimizer differs from the configuration, or that is
    /// damaged, stops the start-up with an error naming the file; nothing is overwritten.
    public init(config: DaemonConfig, logger: Logger) throws {
        try CheckpointFile.prepareDirectory(config.stateDirectory)
        stateDirectory = config.stateDirectory
        var models: [HostedModel] = []
        for m in config.models {
            let path = CheckpointFile.path(directory: config.stateDirectory, model: m.name)
            // A leftover temporary file is a save that never completed; the real file is intact.
            unlink(path + ".tmp")
            if let c = try CheckpointFile.load(path: path) {
                let arch = try m.architecture()
                guard c.model == m.name else {
                    throw CheckpointError.mismatch(path: path, what: "model name", saved: c.model, configured: m.name)
                }
                guard c.architecture == arch else {
                    throw CheckpointError.mismatch(
                        path: path, what: "architecture", saved: c.architecture.summary, configured: arch.summary)
                }
                guard c.optimizerKind == m.optimizer else {
                    throw CheckpointError.mismatch(
                        path: path, what: "optimizer", saved: c.optimizerKind.rawValue, configured: m.optimizer.rawValue
                    )
                }
                let stateKind: OptimizerKind =
                    switch c.optimizer {
                    case .naturalGradient: .ngd
                    case .sgd: .sgd
                    case .adam: .adam
                    }
                guard stateKind == m.optimizer else {
                    throw CheckpointError.mismatch(
                        path: path, what: "optimizer state", saved: stateKind.rawValue, configured: m.optimizer.rawValue
                    )
                }
                let model: HostedModel
                do { model = try HostedModel(config: m, checkpoint: c) } catch {
                    throw CheckpointError.undecodable(path: path, reason: "\(error)")
                }
                // The optimizer state carries its own copy of the network's description, which
                // is what serves: a file whose header and state disagree is not ours to trust.
                guard model.network.architecture == arch else {
                    throw CheckpointError.mismatch(
                        path: path, what: "network inside the optimizer state",
                        saved: model.network.architecture.summary, configured: arch.summary)
                }
                model.lastCheckpoint = Date(timeIntervalSince1970: c.savedAt)
                logger.info("restored model", metadata: ["model": "\(m.name)", "seq": "\(c.seq)", "path": "\(path)"])
                models.append(model)
            } else {
                models.append(try HostedModel(config: m))
                logger.info(
                    "new model",
                    metadata: ["model": "\(m.name)", "layers": "\(m.layers)", "optimizer": "\(m.optimizer.rawValue)"])
            }
        }
        self.models = models
        byTopic = Dictionary(uniqueKeysWithValues: models.map { (Array($0.config.topic.utf8), $0) })
        byName = Dictionary(uniqueKeysWithValues: models.map { ($0.name, $0) })
    }

    /// The model whose topic's UTF-8 bytes are exactly `topic`: `cafe` + U+0301 is not the
    /// topic `café` (U+00E9), and bytes that are not UTF-8 match no topic.
    public func model(topic: [UInt8]) -> HostedModel? { byTopic[topic] }
    /// The model called `name`.
    public func model(named name: String) -> HostedModel? { byName[name] }

    /// Saves `model` atomically and returns the file's path.
    @discardableResult public func save(_ model: HostedModel) throws -> String {
        let path = try CheckpointFile.save(try model.checkpoint(), directory: stateDirectory)
        model.lastCheckpoint = Date()
        return path
    }
}
