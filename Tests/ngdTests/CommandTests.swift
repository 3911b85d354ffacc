import ArgumentParser
import Foundation
import NGDBench
import NGDDaemon
import NGDMath
import NGDTestSupport
import Testing

@testable import ngd

@Suite struct CommandTests {
    @Test func paperDefaults() throws {
        let c = try PaperCommand.parse([])
        #expect(c.arch == "A" && c.seeds == [0] && c.samples == 20_000 && !c.grid.json)
        #expect(try c.grid.optimizers() == ["ngd", "sgd", "adam"])
    }

    @Test func paperOptions() throws {
        let c = try PaperCommand.parse([
            "--arch", "c", "--seed", "1", "--seed", "2", "--json", "--only", "ngd, sgd", "--sgd-lr", "0.1", "0.2",
        ])
        #expect(c.arch == "c" && c.seeds == [1, 2] && c.grid.json && c.grid.sgdRates == [0.1, 0.2])
        #expect(try c.grid.optimizers() == ["ngd", "sgd"])
    }

    @Test(arguments: [
        ["--arch", "D"], ["--samples", "0"], ["--grid-batch", "0"], ["--batch", "0"], ["--sgd-lr", "-1"],
        ["--seed", "x"], ["--frobnicate"],
    ]) func paperRejectsBadArguments(arguments: [String]) {
        #expect(throws: (any Error).self) { try PaperCommand.parse(arguments) }
    }

    @Test func unknownOptimizerIsNamed() throws {
        let c = try PaperCommand.parse(["--only", "ngd,lbfgs"])
        #expect(throws: ValidationError.self) { try c.grid.optimizers() }
    }

    @Test func ngdOverridesAreValidated() throws {
        var s = NaturalGradientSettings()
        try SettingFlags.parse(["--learning-rate", "0.1", "--batch", "16", "--warmup=10"]).apply(to: &s)
        #expect(s.learningRate == 0.1 && s.blockSize == 16 && s.warmup == 10)
        var t = NaturalGradientSettings()
        #expect(throws: ValidationError.self) { try SettingFlags.parse(["--memory-widths", "0.5"]).apply(to: &t) }
        #expect(throws: ValidationError.self) { try SettingFlags.parse(["--batch", "0"]).apply(to: &t) }
        #expect(throws: ValidationError.self) { try SettingFlags.parse(["--batch", "1.5"]).apply(to: &t) }
        #expect(throws: ValidationError.self) { try SettingFlags.parse(["--bach", "2"]).apply(to: &t) }
        #expect(throws: ValidationError.self) { try SettingFlags.parse(["--batch"]).apply(to: &t) }
        #expect(t == NaturalGradientSettings())
    }

    /// A damping floor above the initial damping is refused, naming the flag to change.
    @Test func aDampingFloorAboveTheInitialDampingIsRefused() throws {
        var s = NaturalGradientSettings()
        do {
            try SettingFlags.parse(["--min-damping", "0.05"]).apply(to: &s)
            Issue.record("accepted")
        } catch let e as ValidationError {
            #expect(e.message.hasPrefix("--damping \(s.initialDamping): must be within [0.05, 10000.0]"))
        }
        try SettingFlags.parse(["--min-damping", "0.05", "--damping", "0.05"]).apply(to: &s)
        #expect(s.minimumDamping == 0.05 && s.initialDamping == 0.05)
    }

    @Test func booleanSettingsTakeBothForms() throws {
        var s = NaturalGradientSettings()
        try SettingFlags.parse(["--no-clip-steps", "--reject-worse-steps=false"]).apply(to: &s)
        #expect(!s.clipToModelMinimum && !s.rejectWorseSteps)
        try SettingFlags.parse(["--clip-steps"]).apply(to: &s)
        #expect(s.clipToModelMinimum)
    }

    @Test func autoencoderRejectsBadArguments() {
        #expect(throws: (any Error).self) { try AutoencoderCommand.parse(["--test-images", "0"]) }
        #expect(throws: (any Error).self) { try AutoencoderCommand.parse(["--test-images", "20000"]) }
        #expect(throws: (any Error).self) { try AutoencoderCommand.parse(["--samples", "-5"]) }
    }
}

@Suite struct ServeFlagTests {
    @Test func everyDefaultModelSettingIsAFlag() throws {
        let c = try ServeCommand.parse([
            "--layers", "3,5,2", "--topic", "t", "--activation", "relu", "--no-bias", "--optimizer", "ngd",
            "--learning-rate", "0.002", "--batch", "8", "--output-noise", "0.5", "--seed", "9", "--min-damping",
            "0.001", "--max-damping", "50", "--damping", "0.1", "--prior-samples", "5", "--factor-interval", "2",
            "--min-floor", "1e-5", "--input", "tcp://127.0.0.1:6000", "--input-pattern", "pull", "--input-mode",
            "connect", "--subscribe", "models", "--output", "tcp://127.0.0.1:6001", "--control", "tcp://127.0.0.1:6002",
            "--state-dir", "/tmp/s", "--checkpoint-interval", "7", "--stats-interval", "2", "--loss-every", "3",
            "--max-message-size", "4096", "--receive-hwm", "11", "--send-hwm", "12", "--linger", "13",
        ]).resolvedConfig()
        let m = try #require(c.models.first)
        #expect(
            c.models.count == 1 && m.name == "default" && m.topic == "t" && m.layers == [3, 5, 2]
                && m.activation == .relu)
        #expect(
            !m.bias && m.optimizer == .ngd && m.learningRate == 0.002 && m.blockSize == 8 && m.outputNoise == 0.5
                && m.seed == 9)
        #expect(
            m.ngd.minimumDamping == 0.001 && m.ngd.maximumDamping == 50 && m.ngd.initialDamping == 0.1
                && m.ngd.priorSamples == 5 && m.ngd.minimumFloor == 1e-5)
        #expect(m.ngd.factorInterval == 2)
        #expect(
            c.input == "tcp://127.0.0.1:6000" && c.inputPattern == .pull && c.inputMode == .connect
                && c.subscribe == .models)
        #expect(
            c.output == "tcp://127.0.0.1:6001" && c.control == "tcp://127.0.0.1:6002" && c.stateDirectory == "/tmp/s")
        #expect(c.checkpointInterval == 7 && c.statsInterval == 2 && c.lossEvery == 3 && c.maxMessageSize == 4096)
        #expect(c.receiveHighWaterMark == 11 && c.sendHighWaterMark == 12 && c.lingerMilliseconds == 13)
    }

    /// Every row of the daemon's and the models' settings tables is a flag of `serve`: setting it
    /// changes exactly that value. Flags are unique.
    @Test func everySettingOfTheTablesIsAFlag() throws {
        let flags = (FlagSpec.daemon + FlagSpec.model).map(\.flag)
        #expect(Set(flags).count == flags.count)
        for (row, want) in daemonSettingCases() {
            var c = DaemonConfig()
            try ServeCommand.parse([row.name.flag, "\(want)"]).applyFlags(to: &c)
            #expect(row.value(in: c) == want, "\(row.name.flag)")
        }
        for (name, optimizer, kind, want) in modelSettingCases() {
            var args =
                kind != .boolean
                ? [name.flag, "\(want)"] : want == .boolean(true) ? [name.flag] : ["--no-" + name.flag.dropFirst(2)]
            if name != .optimizer { args += ["--optimizer", optimizer.rawValue] }
            var c = DaemonConfig()
            try ServeCommand.parse(args).applyFlags(to: &c)
            let m = try #require(c.models.first)
            #expect(m.value(of: name) == want, "\(name.flag) for \(optimizer)")
        }
    }

    @Test func flagsOverrideTheFileForTheDefaultModelOnly() throws {
        let path = NSTemporaryDirectory() + "ngd-flags-\(getpid()).toml"
        try "[models.default]\nlayers = [4, 4]\nbatch = 2\n[models.other]\nlayers = [2, 2]\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let c = try ServeCommand.parse(["--config", path, "--batch", "5"]).resolvedConfig()
        #expect(c.models.map(\.name) == ["default", "other"])
        #expect(c.models[0].blockSize == 5 && c.models[0].layers == [4, 4] && c.models[1].blockSize == 1)
        // A file without a default model and no model flags: no default model is invented.
        try "[models.only]\nlayers = [2, 2]\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ServeCommand.parse(["--config", path]).resolvedConfig().models.map(\.name) == ["only"])
    }
}

/// Numbers no command can honour (they trapped converting to Int, sizing an array or making a
/// deadline) are refused when the flags are parsed, with the flag's range, before anything runs.
@Suite struct AbsurdFlagTests {
    static let absurd = ["1e300", "9223372036854775807", "-1"]

    /// A teacher stream is built whole before it is sent: a count it cannot hold (1e9 samples
    /// of A aborted allocating) is refused.
    @Test func feedBoundsATeacherStreamByItsMemory() throws {
        #expect(throws: (any Error).self) { try FeedCommand.parse(["--teacher", "A", "--count", "1000000000"]) }
        #expect(throws: (any Error).self) { try FeedCommand.parse(["--teacher", "C", "--count", "200000"]) }
        _ = try FeedCommand.parse(["--teacher", "A", "--count", "1000000"])
    }

    @Test(arguments: [
        ("demo", "--samples"), ("demo", "--rate"), ("paper", "--samples"), ("autoencoder", "--samples"),
        ("speed", "--sizes"), ("speed", "--blocks"), ("speed", "--chunks"), ("speed", "--woodbury-block"),
        ("speed", "--rounds"), ("speed", "--peer-batch-samples"), ("e2e", "--samples"), ("e2e", "--latency-seconds"),
        ("feed", "--batch"), ("feed", "--rate"), ("feed", "--count"), ("feed", "--inputs"), ("feed", "--send-timeout"),
        ("serve", "--metrics"),
        ("serve", "--stats-interval"), ("serve", "--checkpoint-interval"), ("soak", "--minutes"),
        ("soak", "--interval"),
        ("soak", "--batch"), ("soak", "--window"), ("soak", "--max-drift"),
    ]) func areRefusedAtParse(command: String, flag: String) throws {
        for value in Self.absurd where !(value == "-1" && ["--rate"].contains(flag)) {
            let args = [flag, value]
            #expect(throws: (any Error).self, "\(command) \(flag) \(value)") {
                switch command {
                case "demo": _ = try DemoCommand.parse(args)
                case "paper": _ = try PaperCommand.parse(args)
                case "autoencoder": _ = try AutoencoderCommand.parse(args)
                case "speed": try SpeedCommand.parse(args).run()
                case "e2e": _ = try EndToEndCommand.parse(args)
                case "soak": _ = try SoakCommand.parse(args)
                case "feed": _ = try FeedCommand.parse(["--teacher", "A"] + args)
                default: try ServeCommand.parse(["--layers", "2,1"] + args).resolvedConfig().validate()
                }
            }
        }
    }
}

/// `ngd bench soak`, briefly: a table row per interval, no prediction lost, a clean stop with a
/// checkpoint.
@Suite struct SoakCommandTests {
    @Test func aShortSoakReportsEveryIntervalAndStopsCleanly() throws {
        let (status, text) = try runProcess(
            ngdExecutable(), ["bench", "soak", "--minutes", "0.1", "--interval", "1", "--batch", "4"])
        #expect(status == 0, "\(text)")
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("  0.") }
        #expect((5...6).contains(rows.count), "\(text)")
        let learned = rows.compactMap { $0.split(separator: " ").dropFirst(3).first.flatMap { Int($0) } }
        #expect(learned.count == rows.count && learned.allSatisfy { $0 > 0 && $0 % 4 == 0 }, "\(text)")
        #expect(text.contains("predictions lost: 0; daemon stop: exit status 0"), "\(text)")
        #expect(!text.contains("checkpoint missing"), "\(text)")
    }

    @Test func anIntervalLongerThanTheRunIsRefused() {
        #expect(throws: (any Error).self) { try SoakCommand.parse(["--minutes", "0.1", "--interval", "60"]) }
    }
}

/// `ngd bench e2e --via-proxy --curve`: every one of the four paths (direct, proxy, each with
/// CURVE on every socket) delivers predictions for each configuration.
@Suite struct EndToEndCommandTests {
    @Test func everyPathDeliversPredictions() throws {
        let (status, text) = try runProcess(
            ngdExecutable(),
            ["bench", "e2e", "--via-proxy", "--curve", "--samples", "1000", "--latency-seconds", "0.5"])
        #expect(status == 0, "\(text)")
        let rows = text.split(separator: "\n").filter {
            ["direct", "proxy"].contains($0.prefix { $0 != " " && $0 != "+" })
        }
        #expect(
            rows.map { $0.prefix { $0 != " " } }
                == Array(repeating: ["direct", "proxy", "direct+curve", "proxy+curve"], count: 3).flatMap { $0 },
            "\(text)")
        for row in rows {
            let rate = row.split(separator: " ").dropFirst(4).first.flatMap { Double($0) } ?? 0
            #expect(rate > 0, "\(row)")
        }
    }
}

/// `ngd bench speed`: bad arguments, and the same-round ratios of the peer summary.
@Suite struct SpeedCommandTests {
    @Test func badSectionsAndRoundsAreRejected() throws {
        #expect(throws: ValidationError.self) { try SpeedCommand.parse(["--only", "kernels,bogus"]).run() }
        #expect(throws: (any Error).self) { try SpeedCommand.parse(["--only", "target", "--rounds", "0"]).run() }
        #expect(throws: ValidationError.self) { try SpeedCommand.parse(["--only", "steps", "--networks", "C"]).run() }
    }

    /// Three rounds whose batch / best-ngd ratios are 2, 4 and 2.5: the median is 2.5, with
    /// each round's value in brackets; rows missing from a round count as missing, not as zero.
    @Test func peerSummaryTakesTheMedianOfSameRoundRatios() {
        func row(_ method: String, µs: Double, seconds: Double?) -> SpeedBench.TargetRow {
            SpeedBench.TargetRow(
                problem: "A", method: method, microseconds: µs, samplesToTarget: seconds == nil ? nil : 1000,
                secondsToTarget: seconds)
        }
        let rounds = [(0.5, 1.0), (0.25, 1.0), (0.4, 1.0)].map { ngd, batch in
            var r = SpeedCommand.Round()
            r.targets = [
                row(SpeedCommand.smLabel, µs: 20, seconds: ngd * 2),
                row(SpeedCommand.woodburyLabel, µs: 10, seconds: ngd),
                row(SpeedCommand.batchLabel, µs: 5, seconds: batch), row(SpeedCommand.onlineLabel, µs: 500, seconds: 4),
            ]
            return r
        }
        let text = SpeedCommand.peerSummary(rounds)
        #expect(text.contains("numpy batch / best ngd = 2.5× [2.0, 4.0, 2.5]"), "\(text)")
        #expect(
            text.contains(
                "numpy online / ngd = 25.0× [25.0, 25.0, 25.0] (SM), 50.0× [50.0, 50.0, 50.0] (blocks of 16)"),
            "\(text)")
        #expect(text.contains("with factors 1/2: —"), "\(text)")
        let table = SpeedCommand.targetTable(rounds)
        #expect(table.contains("medians of 3 rounds") && table.contains("0.400"), "\(table)")
    }
}
