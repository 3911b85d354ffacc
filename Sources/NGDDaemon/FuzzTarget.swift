import Foundation
import NGDMath
import NGDWire

/// The decoders a hostile peer or a hand-edited file reaches, as fuzz targets: each takes any
/// bytes, must return (no trap, no hang), and checks a property that an independent
/// expectation gives. `ngd-fuzz` runs them under libFuzzer (`scripts/fuzz`) or replays files.
///
/// Thread safety: none; one fuzzing thread.
package enum FuzzTarget: String, CaseIterable, Sendable {
    /// An input payload (JSON or NGD1) through the decoder and a small model: a message that is
    /// refused (by the decoder or the model) leaves the model bit-identical.
    case sample
    /// A configuration file through the TOML parser, the config reader and its validation.
    case toml
    /// A checkpoint file through its envelope, decoder and restore, then one sample learned.
    case checkpoint
    /// A control request through its decoder, and a decoded request's reply re-encoded.
    case control
    /// The head of an HTTP request to the metrics endpoint: every complete or refused head gets
    /// an HTTP/1.1 response, and a request is only read from a head that has ended.
    case http

    /// Runs the target on `bytes`.
    /// - Throws: ``FuzzFailure`` when a property does not hold (the fuzzer reports it as a crash).
    package func run(_ bytes: [UInt8]) throws(FuzzFailure) {
        switch self {
        case .sample: try Self.sample(bytes)
        case .toml:
            guard let c = try? DaemonConfig.parse(toml: String(decoding: bytes, as: UTF8.self)) else { return }
            try? c.validate()
        case .checkpoint: try Self.checkpoint(bytes)
        case .control:
            guard let r = try? ControlRequest.decode(bytes) else { return }
            let again = try? ControlRequest.decode(r.encode())
            guard again == r else { throw FuzzFailure("control request \(r) does not survive encode/decode") }
        case .http:
            let parsed = MetricsHTTP.parse(bytes)
            let response = MetricsHTTP.response(to: parsed) { Array("# metrics\n".utf8) }
            guard (parsed == .incomplete) == response.isEmpty,
                response.isEmpty || response.starts(with: Array("HTTP/1.1 ".utf8))
            else { throw FuzzFailure("\(parsed) got a response of \(response.count) bytes") }
            if case .request = parsed, !bytes.contains(0x0A) { throw FuzzFailure("a request without a line end") }
        }
    }

    /// Models by input width (1…8), made once: width n, one hidden tanh layer, 2 outputs. A
    /// message whose y is not 2 wide is refused by the model, which the property then checks.
    nonisolated(unsafe) private static var models: [Int: HostedModel] = [:]

    private static func model(width: Int) -> HostedModel? {
        guard (1...8).contains(width) else { return nil }
        if let m = models[width] { return m }
        var c = ModelConfig(name: "fuzz", layers: [width, 3, 2])
        c.ngd.blockSize = 2
        let m = try? HostedModel(config: c)
        models[width] = m
        return m
    }

    private static func sample(_ bytes: [UInt8]) throws(FuzzFailure) {
        guard let m = try? SampleMessage.decode(bytes) else {
            _ = SampleMessage.readableID(bytes)
            return
        }
        guard let model = model(width: m.inputWidth), m.count <= 64 else { return }
        let before = try? model.checkpoint()
        do { _ = try model.process(m) } catch {
            guard let after = try? model.checkpoint(), after.optimizer == before?.optimizer, after.seq == before?.seq
            else {
                throw FuzzFailure("a refused message changed the model: \(error)")
            }
        }
        let probe = [Double](repeating: 0.5, count: model.network.architecture.inputSize)
        guard let y = try? model.predict(probe, count: 1), y.allSatisfy(\.isFinite) else {
            throw FuzzFailure("the model predicts non-finite values after \(m.count) samples")
        }
    }

    private static func checkpoint(_ bytes: [UInt8]) throws(FuzzFailure) {
        guard let c = try? CheckpointFile.decode(bytes, path: "fuzz"), c.architecture.inputSize <= 64,
            c.architecture.sizes.reduce(0, +) <= 256
        else { return }
        var config = ModelConfig(name: c.model, layers: c.architecture.sizes)
        config.activation = c.architecture.activations.first ?? .identity
        config.bias = c.architecture.bias
        config.likelihood = c.architecture.likelihood
        config.standardizeInputs = c.architecture.standardizesInputs
        config.optimizer = c.optimizerKind
        guard let model = try? HostedModel(config: config, checkpoint: c) else { return }
        let a = model.network.architecture
        let x = [Double](repeating: 0.25, count: a.inputSize)
        var y = [Double](repeating: 0, count: a.outputSize)
        y[0] = 1
        _ = try? model.process(SampleMessage(x: x, y: y, count: 1))
    }
}

/// A property a fuzz target checks did not hold.
package struct FuzzFailure: Error, CustomStringConvertible {
    package let description: String
    package init(_ d: String) { description = d }
}
