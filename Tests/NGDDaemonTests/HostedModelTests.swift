import NGDMath
import NGDWire
import Testing

@testable import NGDDaemon

/// Test-then-train: every prediction a labelled message gets is the model's prediction before it
/// learned from that message, whether it comes from the training block's own forward pass (a
/// message of at most `batch` samples) or from a separate prediction pass (longer messages, or a
/// paused model).
@Suite struct HostedModelTests {
    static func message(_ k: Int, seed: UInt64) -> SampleMessage {
        var rng = RandomSource(seed: seed)
        let x = (0..<(3 * k)).map { _ in rng.nextGaussian() }
        let y = (0..<(2 * k)).map { _ in rng.nextGaussian() }
        return SampleMessage(
            count: k, inputWidth: 3, outputWidth: 2, x: x, y: y, id: .none, encoding: .json, isBatch: true)
    }

    @Test(arguments: OptimizerKind.allCases) func predictionsAreThoseOfTheWeightsBeforeTheMessage(
        kind: OptimizerKind
    ) throws {
        var cfg = ModelConfig(name: "m", layers: [3, 6, 2])
        cfg.optimizer = kind
        cfg.ngd.blockSize = 4
        cfg.sgd.blockSize = 4
        cfg.adam.blockSize = 4
        cfg.outputNoise = 0.01
        cfg.ngd.factorRate = 0.25  // NGD's warm-up (factors only, weights unchanged) is then 4 samples
        let model = try HostedModel(config: cfg)
        // Message sizes: one sample, a partial block, a full block, then three blocks and a bit.
        for (i, k) in [1, 3, 4, 13, 1, 4].enumerated() {
            let m = Self.message(k, seed: UInt64(i))
            let before = try model.predict(m.x, count: k)  // the separate prediction pass
            let weights = model.network.parameters.array
            let outcome = try model.process(m)
            #expect(outcome.predictions == before, "message \(i) of \(k) samples")
            #expect(outcome.learned)
            if model.seq > 4 { #expect(model.network.parameters.array != weights, "message \(i) changed no weight") }
            var sse = 0.0
            for (a, b) in zip(before, m.y!) { sse += (a - b) * (a - b) }
            #expect(outcome.mse == sse / Double(2 * k))
        }
        #expect(model.seq == 26)
        // Paused: predicted and scored, not learned.
        model.paused = true
        let m = Self.message(2, seed: 9)
        let weights = model.network.parameters.array
        let outcome = try model.process(m)
        let expected = try model.predict(m.x, count: 2)
        #expect(!outcome.learned && model.network.parameters.array == weights && outcome.predictions == expected)
    }
}
