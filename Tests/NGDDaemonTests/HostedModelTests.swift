import Foundation
import Logging
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

/// Categorical models: what targets they take, what they publish, and the scores.
@Suite struct CategoricalModelTests {
    static func model(_ kind: OptimizerKind = .ngd) throws -> HostedModel {
        var cfg = ModelConfig(name: "c", layers: [2, 5, 3])
        cfg.likelihood = .categorical
        cfg.optimizer = kind
        return try HostedModel(config: cfg)
    }

    /// A JSON label, an NGD1-style y of width 1 (a class index) and a one-hot y all train the
    /// same: each optimizer ends with the same weights from the three spellings.
    @Test(arguments: OptimizerKind.allCases) func labelsIndicesAndOneHotVectorsAreTheSameTargets(
        kind: OptimizerKind
    ) throws {
        let a = try Self.model(kind)
        let b = try Self.model(kind)
        let c = try Self.model(kind)
        var r = RandomSource(seed: 4)
        for i in 0..<50 {
            let x = [r.nextGaussian(), r.nextGaussian()]
            let cls = i % 3
            let label = try SampleMessage.decode(Array("{\"x\": [\(x[0]), \(x[1])], \"label\": \(cls)}".utf8))
            let index = SampleMessage(x: x, y: [Double(cls)], count: 1, encoding: .ngd1(.float64))
            let oneHot = SampleMessage(x: x, y: (0..<3).map { $0 == cls ? 1 : 0 }, count: 1)
            let oa = try a.process(label)
            _ = try b.process(index)
            _ = try c.process(oneHot)
            // Predictions are probabilities.
            #expect(abs(oa.predictions.reduce(0, +) - 1) < 1e-12 && oa.predictions.allSatisfy { $0 > 0 })
        }
        #expect(a.network.parameters.array == b.network.parameters.array)
        #expect(a.network.parameters.array == c.network.parameters.array)
    }

    @Test func badTargetsAreRefusedAndChangeNothing() throws {
        let m = try Self.model()
        let weights = m.network.parameters.array
        let bad: [(SampleMessage, String)] = [
            (
                SampleMessage(x: [1, 2], y: [3], count: 1),
                "class 3.0 of sample 0 is not in 0..<3 (model c has 3 classes)"
            ),
            (
                SampleMessage(x: [1, 2], y: [0.5], count: 1),
                "class 0.5 of sample 0 is not in 0..<3 (model c has 3 classes)"
            ),
            (
                SampleMessage(x: [1, 2], y: [0.5, 0.6, 0], count: 1),
                "y of sample 0 is not a probability vector (entries ≥ 0 summing to 1)"
            ),
            (
                SampleMessage(x: [1, 2], y: [1.5, -0.5, 0], count: 1),
                "y of sample 0 is not a probability vector (entries ≥ 0 summing to 1)"
            ),
            (SampleMessage(x: [1, 2], y: [1, 0], count: 1), "y has 2 values per sample; model c expects 3"),
        ]
        for (message, reason) in bad {
            #expect(throws: ModelInputError(description: reason)) { try m.process(message) }
        }
        #expect(m.network.parameters.array == weights && m.seq == 0)
        // A label for a Gaussian model.
        let g = try HostedModel(config: ModelConfig(name: "g", layers: [2, 1]))
        let labelled = try SampleMessage.decode(Array(#"{"x": [1, 2], "label": 0}"#.utf8))
        #expect(throws: ModelInputError(description: "label is for categorical models; model g is gaussian: send y")) {
            try g.process(labelled)
        }
    }

    /// log loss and accuracy against a direct computation from the published probabilities.
    @Test func scoresAreTheLogLossAndAccuracyOfThePredictions() throws {
        let m = try Self.model()
        var r = RandomSource(seed: 8)
        for i in 0..<30 {
            _ = try m.process(SampleMessage(x: [r.nextGaussian(), r.nextGaussian()], y: [Double(i % 3)], count: 1))
        }
        let x = [0.3, -1.2, 2.0, 0.1]
        let p = try m.predict(x, count: 2)
        let message = SampleMessage(x: x, y: [1, 0, 0, 0, 0, 1], count: 2)
        let outcome = try m.process(message)
        #expect(outcome.predictions == p)
        let expectedLoss = -(log(p[0]) + log(p[5])) / 2
        #expect(abs(outcome.loss! - expectedLoss) < 1e-12)
        // The predicted class is the first most probable one.
        func argmax(_ row: ArraySlice<Double>) -> Int { row.indices.first { row[$0] == row.max()! }! - row.startIndex }
        let hits = (argmax(p[0..<3]) == 0 ? 1.0 : 0) + (argmax(p[3..<6]) == 2 ? 1.0 : 0)
        #expect(outcome.accuracy == hits / 2)
    }

    /// A model whose weights are not finite is never checkpointed (a defence behind the
    /// optimizers' refusal of non-finite steps).
    @Test func aNonFiniteModelIsNotCheckpointed() throws {
        let m = try Self.model()
        _ = try m.checkpoint()
        m.network.parameters[0] = .nan
        #expect(throws: CheckpointError.nonFinite(model: "c")) { try m.checkpoint() }
    }
}

/// Absurd numbers reach a model as a refused step, never as a poisoned one.
@Suite struct RefusedStepTests {
    @Test(arguments: OptimizerKind.allCases) func anAbsurdSampleIsRefusedAndTheModelKeepsItsState(
        kind: OptimizerKind
    ) throws {
        var cfg = ModelConfig(name: "m", layers: [3, 6, 2])
        cfg.optimizer = kind
        let model = try HostedModel(config: cfg)
        for i in 0..<20 { _ = try model.process(HostedModelTests.message(1, seed: UInt64(i))) }
        let weights = model.network.parameters.array
        let state = model.network.state
        let ema = try #require(model.lossEMA)
        let outcome = try model.process(SampleMessage(x: [1e300, 0, 1], y: [0, 1], count: 1))
        #expect(outcome.refusedSteps == 1 && model.nonFiniteSteps == 1)
        #expect(model.network.parameters.array == weights && model.network.state == state)
        #expect(model.lossEMA == ema, "the running loss took in a sample that could not be predicted")
        // It keeps learning.
        _ = try model.process(HostedModelTests.message(1, seed: 99))
        #expect(model.network.parameters.array != weights)
    }

    @Test func logLinesAreLimitedToTenAMinuteThenCounted() {
        var limit = LogRateLimit()
        let start = ContinuousClock.now
        var lines = 0
        let logger = Logger(label: "test")
        for i in 0..<25 { limit.log(logger, "x", now: start + .seconds(Double(i) / 10)) { lines += 1 } }
        #expect(lines == 10)
        limit.log(logger, "x", now: start + .seconds(61)) { lines += 1 }
        #expect(lines == 11)
    }
}

/// The replica tools: the state digest and the id-sequence gap count.
@Suite struct ReplicaToolTests {
    @Test func digestsAgreeExactlyWhenTheStatesDo() throws {
        var cfg = ModelConfig(name: "m", layers: [3, 6, 2])
        cfg.seed = 5
        let a = try HostedModel(config: cfg)
        let b = try HostedModel(config: cfg)
        #expect(a.digest() != nil && a.digest() == b.digest() && a.digest()!.count == 16)
        for i in 0..<5 {
            let m = HostedModelTests.message(3, seed: UInt64(i))
            _ = try a.process(m)
            _ = try b.process(m)
        }
        #expect(a.digest() == b.digest())
        // One more sample on one side, or another seed, changes the digest.
        _ = try a.process(HostedModelTests.message(1, seed: 99))
        #expect(a.digest() != b.digest())
        cfg.seed = 6
        #expect(
            try HostedModel(config: cfg).digest()
                != (try HostedModel(
                    config: {
                        var c = cfg
                        c.seed = 5
                        return c
                    }()
                ).digest()))
        // A restored checkpoint has the digest of the model it came from.
        let restored = try HostedModel(config: ModelConfig(name: "m", layers: [3, 6, 2]), checkpoint: a.checkpoint())
        #expect(restored.digest() == a.digest())
    }

    @Test func gapsAreTheMissingIdsOfAnIncreasingRun() throws {
        let m = try HostedModel(config: ModelConfig(name: "m", layers: [2, 1]))
        let ids: [(MessageID, UInt64)] = [
            (.u64(10), 0), (.u64(11), 0), (.u64(15), 3), (.json(.number(16, text: "16")), 0), (.json(.string("x")), 0),
            (.u64(20), 3), (.u64(3), 0), (.u64(4), 0), (.none, 0), (.json(.number(6, text: "6")), 1),
            (.json(.number(7.5, text: "7.5")), 0),
        ]
        for (id, missing) in ids { #expect(m.noteSequence(id) == missing, "\(id)") }
        #expect(m.missedMessages == 7)
    }

    /// The last sequenced id survives a checkpoint round trip, so a replica restarted from its
    /// own checkpoint counts the messages it missed while down; a checkpoint written before the
    /// field existed (the same body without it) still loads and starts a new sequence.
    @Test func aRestartedReplicaCountsTheMessagesItMissedWhileDown() throws {
        let cfg = ModelConfig(name: "m", layers: [2, 1])
        let m = try HostedModel(config: cfg)
        for i in 0..<10 { _ = m.noteSequence(.u64(UInt64(i))) }
        let saved = try m.checkpoint()
        #expect(saved.lastSequenceID == 9)
        let bytes = try BinaryCoder.encode(saved)
        let restored = try HostedModel(
            config: cfg, checkpoint: try BinaryCoder.decode(ModelCheckpoint.self, from: bytes))
        #expect(restored.noteSequence(.u64(15)) == 5)
        #expect(restored.missedMessages == 5)

        /// ModelCheckpoint as it was before `lastSequenceID`.
        struct Before: Codable {
            var model: String
            var architecture: Architecture
            var optimizerKind: OptimizerKind
            var seq: Int
            var samples: Int
            var lossEMA: Double?
            var mseEMA: Double?
            var paused: Bool
            var savedAt: Double
            var optimizer: OptimizerState
        }
        let old = Before(
            model: saved.model, architecture: saved.architecture, optimizerKind: saved.optimizerKind, seq: saved.seq,
            samples: saved.samples, lossEMA: saved.lossEMA, mseEMA: saved.mseEMA, paused: saved.paused,
            savedAt: saved.savedAt, optimizer: saved.optimizer)
        let decoded = try BinaryCoder.decode(ModelCheckpoint.self, from: try BinaryCoder.encode(old))
        #expect(decoded.lastSequenceID == nil)
        var withoutID = saved
        withoutID.lastSequenceID = nil
        #expect(decoded == withoutID)
        let fresh = try HostedModel(config: cfg, checkpoint: decoded)
        #expect(fresh.noteSequence(.u64(15)) == 0)
    }
}
