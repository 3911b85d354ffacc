import Foundation
import Logging
import NGDMath
import NGDSystem
import NGDWire
import Testing

@testable import NGDDaemon

private func tempDir() -> String {
    let p = NSTemporaryDirectory() + "ngd-ckpt-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
    return p
}

@Suite struct CheckpointTests {
    func trainedModel(_ kind: OptimizerKind) throws -> HostedModel {
        var cfg = ModelConfig(name: "m", layers: [3, 6, 2])
        cfg.optimizer = kind
        cfg.ngd.blockSize = 2
        cfg.sgd.blockSize = 2
        cfg.adam.blockSize = 2
        let m = try HostedModel(config: cfg)
        var rng = RandomSource(seed: 3)
        for _ in 0..<200 {
            let x = (0..<6).map { _ in rng.nextGaussian() }
            let y = [x[0] - x[1], x[2], x[3] + x[4], x[5]]
            _ = try m.process(
                SampleMessage(
                    count: 2, inputWidth: 3, outputWidth: 2, x: x, y: y, id: .none, encoding: .json, isBatch: true))
        }
        return m
    }

    @Test(arguments: OptimizerKind.allCases) func saveAndRestoreGiveBitIdenticalPredictionsAndContinueIdentically(
        kind: OptimizerKind
    ) throws {
        let dir = tempDir()
        let m = try trainedModel(kind)
        let path = try CheckpointFile.save(m.checkpoint(), directory: dir)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        let loaded = try #require(try CheckpointFile.load(path: path))
        let r = try HostedModel(config: m.config, checkpoint: loaded)
        #expect(r.seq == m.seq && r.seq == 400 && r.lossEMA == m.lossEMA && r.samples == m.samples)
        let probe = [0.1, -0.2, 0.3, 1, 2, 3]
        #expect(try r.network.predict(probe, count: 2) == m.network.predict(probe, count: 2))
        // Both continue the same way, bit for bit (optimizer and RNG state restored).
        let msg = SampleMessage(
            count: 2, inputWidth: 3, outputWidth: 2, x: probe, y: [1, 2, 3, 4], id: .none, encoding: .json,
            isBatch: true)
        for _ in 0..<5 {
            _ = try m.process(msg)
            _ = try r.process(msg)
        }
        #expect(r.network.parameters.array == m.network.parameters.array)
    }

    /// `ngd snapshot`'s installer writes only a whole checkpoint of the model asked for, and never
    /// over an existing one unless told to.
    @Test func theInstallerWritesOnlyAWholeCheckpointOfTheModelAskedFor() throws {
        let m = try trainedModel(.ngd)
        let file = try CheckpointFile.encode(try m.checkpoint())
        let dir = tempDir() + "/new"
        let path = try CheckpointInstaller.install(file, model: "m", directory: dir, source: "s", replace: false)
        #expect(path == dir + "/m.ngdckpt")
        #expect(try FileIO.readAll(path: path) == file)
        let restored = try HostedModel(
            config: m.config, checkpoint: try #require(try CheckpointFile.load(path: path)))
        #expect(restored.digest() == m.digest())
        #expect(throws: CheckpointError.self) {
            try CheckpointInstaller.install(file, model: "m", directory: dir, source: "s", replace: false)
        }
        #expect(throws: Never.self) {
            try CheckpointInstaller.install(file, model: "m", directory: dir, source: "s", replace: true)
        }
        var damaged = file
        damaged[damaged.count - 1] ^= 1
        let other = tempDir()
        #expect(throws: CheckpointError.self) {
            try CheckpointInstaller.install(damaged, model: "m", directory: other, source: "s", replace: false)
        }
        #expect(throws: CheckpointError.self) {
            try CheckpointInstaller.install(file, model: "n", directory: other, source: "s", replace: false)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: other).isEmpty)
    }

    @Test func everyKindOfDamageIsDetected() throws {
        let dir = tempDir()
        let m = try trainedModel(.ngd)
        let path = try CheckpointFile.save(m.checkpoint(), directory: dir)
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        func check(_ bytes: [UInt8], _ expected: (String) -> CheckpointError) {
            do {
                _ = try CheckpointFile.decode(bytes, path: "p")
                Issue.record("accepted damaged checkpoint")
            } catch let e as CheckpointError { #expect(e == expected("p")) } catch { Issue.record("\(error)") }
        }
        var flipped = good
        flipped[good.count / 2] ^= 0x01
        check(flipped) { .checksumMismatch(path: $0) }
        check(Array(good.dropLast(10))) { .truncated(path: $0, expected: good.count, got: good.count - 10) }
        check(good + [0]) { .truncated(path: $0, expected: good.count, got: good.count + 1) }
        // Length fields whose sum with the 24-byte header passes 2⁶⁴ (they trapped).
        for length in [UInt64.max, UInt64.max - 23, UInt64.max - 24] {
            var huge = good
            withUnsafeBytes(of: length.littleEndian) { huge.replaceSubrange(16..<24, with: $0) }
            let wraps = length > UInt64.max - 24
            check(huge) {
                .truncated(path: $0, expected: wraps ? .max : Int(clamping: length + 24), got: good.count)
            }
        }
        check([UInt8]("not a checkpoint at all, no".utf8)) { .notACheckpoint(path: $0) }
        check([]) { .notACheckpoint(path: $0) }
        var v2 = good
        v2[8] = 2
        check(v2) { .unsupportedVersion(path: $0, version: 2) }
        // A valid envelope around a body that is not a model's state.
        let body = Array(#"{"model": "m"}"#.utf8)
        var env = CheckpointFile.magic
        withUnsafeBytes(of: UInt32(1).littleEndian) { env += $0 }
        withUnsafeBytes(of: CheckpointFile.crc(body).littleEndian) { env += $0 }
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { env += $0 }
        #expect(throws: CheckpointError.self) { try CheckpointFile.decode(env + body, path: "p") }
        // zlib's CRC-32 is the standard one (check value of "123456789").
        #expect(CheckpointFile.crc(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(try CheckpointFile.load(path: dir + "/absent.ngdckpt") == nil)
    }

    @Test func aDamagedCheckpointStopsStartUpAndIsKept() throws {
        let dir = tempDir()
        let m = try trainedModel(.ngd)
        let path = try CheckpointFile.save(m.checkpoint(), directory: dir)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 5] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var c = DaemonConfig()
        c.stateDirectory = dir
        c.models = [m.config]
        #expect(throws: CheckpointError.checksumMismatch(path: path)) {
            try ModelRegistry(config: c, logger: Logger(label: "test"))
        }
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
    }

    /// A topic routes to a model only when its bytes equal the model's topic: not a canonically
    /// equivalent spelling (Swift's String equality would match it), not bytes that decode to
    /// U+FFFD, not a prefix.
    @Test func topicsRouteByExactBytes() throws {
        var c = DaemonConfig()
        c.stateDirectory = tempDir()
        var composed = ModelConfig(name: "a", layers: [2, 1])
        composed.topic = "caf\u{E9}"
        var replacement = ModelConfig(name: "b", layers: [2, 1])
        replacement.topic = "x\u{FFFD}"
        c.models = [composed, replacement]
        try c.validate()
        let r = try ModelRegistry(config: c, logger: Logger(label: "test"))
        #expect(r.model(topic: Array("caf\u{E9}".utf8))?.name == "a")
        #expect(r.model(topic: Array("cafe\u{301}".utf8)) == nil)  // "cafe\xcc\x81"
        #expect(r.model(topic: Array("x\u{FFFD}".utf8))?.name == "b")
        #expect(r.model(topic: [0x78, 0xFF]) == nil)  // invalid UTF-8
        #expect(r.model(topic: Array("caf".utf8)) == nil)
    }

    /// Hand-made files with a valid CRC: counters near Int.max (they trapped on the first
    /// message), and an optimizer state whose network or kind differs from the file's header
    /// (a relu network served while `status` said identity). Each stops the start with the
    /// file named, and the file is kept.
    @Test func handMadeCheckpointsAreCheckedInside() throws {
        let m = try trainedModel(.ngd)
        func refused(_ edit: (inout ModelCheckpoint) throws -> Void, _ message: String) throws {
            let dir = tempDir()
            var c = try m.checkpoint()
            try edit(&c)
            let path = try CheckpointFile.save(c, directory: dir)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            var config = DaemonConfig()
            config.stateDirectory = dir
            config.models = [m.config]
            do {
                _ = try ModelRegistry(config: config, logger: Logger(label: "test"))
                Issue.record("accepted: \(message)")
            } catch { #expect("\(error)".contains(path) && "\(error)".contains(message), "\(error)") }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        }
        try refused({ $0.seq = .max }, "a count of at most 2^53")
        try refused({ $0.samples = Int(Int64.min) }, "a count of at most 2^53")
        try refused(
            {
                guard case .naturalGradient(var s) = $0.optimizer else { return }
                s.samplesSeen = .max - 1
                $0.optimizer = .naturalGradient(s)
            }, "a count of at most 2^53")
        var relu = m.config
        relu.activation = .relu
        let other = try HostedModel(config: relu).checkpoint().optimizer
        try refused({ $0.optimizer = other }, "network inside the optimizer state")
        var sgd = m.config
        sgd.optimizer = .sgd
        let sgdState = try HostedModel(config: sgd).checkpoint().optimizer
        try refused({ $0.optimizer = sgdState }, "optimizer state")
    }

    @Test func aLeftoverTemporaryFileIsIgnoredAndRemoved() throws {
        let dir = tempDir()
        let m = try trainedModel(.sgd)
        let path = try CheckpointFile.save(m.checkpoint(), directory: dir)
        #expect(FileManager.default.createFile(atPath: path + ".tmp", contents: Data("half-written".utf8)))
        var c = DaemonConfig()
        c.stateDirectory = dir
        c.models = [m.config]
        let r = try ModelRegistry(config: c, logger: Logger(label: "test"))
        #expect(r.models[0].seq == 400)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }
}

@Suite struct LogFormatTests {
    @Test func journalLinesCarryPriorityPrefixesAndOtherLinesATimestamp() {
        let j = JournalLogHandler(label: "ngd", journal: true)
        let event = LogEvent(
            level: .warning, message: "rejected message", metadata: ["reason": "bad\nthing", "model": "m"], source: "s",
            file: "f", function: "g", line: 1)
        #expect(j.format(event) == "<4>ngd: rejected message model=m reason=bad thing")
        let e = LogEvent(level: .error, message: "x", metadata: nil, source: "s", file: "f", function: "g", line: 1)
        #expect(j.format(e) == "<3>ngd: x")
        let plain = JournalLogHandler(label: "ngd", journal: false)
        let line = plain.format(e, now: Date(timeIntervalSince1970: 0))
        #expect(line == "1970-01-01T00:00:00Z error ngd: x")
    }
}

@Suite struct RestoreSettingsTests {
    @Test func configuredOptimizerSettingsReplaceTheSavedOnes() throws {
        var cfg = ModelConfig(name: "m", layers: [2, 3, 1])
        let m = try HostedModel(config: cfg)
        let saved = try m.checkpoint()
        cfg.ngd.learningRate = 0.5
        cfg.ngd.blockSize = 4
        cfg.ngd.minimumDamping = 1e-5
        let r = try HostedModel(config: cfg, checkpoint: saved)
        let ngd = try #require(r.optimizer as? NaturalGradientOptimizer)
        #expect(ngd.settings.learningRate == 0.5 && ngd.settings.blockSize == 4 && ngd.settings.minimumDamping == 1e-5)
        #expect(r.network.parameters.array == m.network.parameters.array)
    }
}

/// The fuzz targets' seed corpora (Tests/Fuzz/TARGET), each file through its target once, as
/// `ngd-fuzz TARGET FILE…` replays them; and the property the sample target checks, on inputs
/// made to be refused: a message the model refuses leaves it bit-identical.
@Suite struct FuzzTargetTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    @Test(arguments: FuzzTarget.allCases) func seedCorpusPasses(target: FuzzTarget) throws {
        let dir = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(files.count >= 1)
        for f in files {
            let bytes = Array(try Data(contentsOf: dir.appendingPathComponent(f)))
            #expect(throws: Never.self, "\(target) \(f)") { try target.run(bytes) }
        }
    }

    @Test func refusedSamplesLeaveTheModelBitIdentical() throws {
        // The target's models have 2 outputs: a y of another width, or a label for a Gaussian
        // model, is refused after decoding; the target checks the model's state is unchanged.
        for payload in [
            #"{"x": [1, 2, 3], "y": [1, 2, 3, 4, 5]}"#, #"{"x": [1, 2, 3], "label": 1}"#,
            #"{"x": [1, 2, 3], "y": [1e308, -1e308]}"#, #"{"x": [1e300, 1, 1], "y": [1, 1]}"#,
        ] {
            #expect(throws: Never.self, "\(payload)") { try FuzzTarget.sample.run(Array(payload.utf8)) }
        }
    }
}
