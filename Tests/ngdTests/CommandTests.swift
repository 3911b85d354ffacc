import ArgumentParser
import NGDMath
import Testing
@testable import ngd

@Suite struct CommandTests {
    @Test func paperDefaults() throws {
        let c = try PaperCommand.parse([])
        #expect(c.arch == "A" && c.seeds == [0] && c.samples == 20_000 && !c.grid.json)
        #expect(try c.grid.optimizers() == ["ngd", "sgd", "adam"])
    }

    @Test func paperOptions() throws {
        let c = try PaperCommand.parse(["--arch", "c", "--seed", "1", "--seed", "2", "--json", "--only", "ngd, sgd", "--sgd-lr", "0.1", "0.2"])
        #expect(c.arch == "c" && c.seeds == [1, 2] && c.grid.json && c.grid.sgdRates == [0.1, 0.2])
        #expect(try c.grid.optimizers() == ["ngd", "sgd"])
    }

    @Test(arguments: [
        ["--arch", "D"], ["--samples", "0"], ["--batch", "0"], ["--sgd-lr", "-1"], ["--seed", "x"], ["--frobnicate"],
    ])
    func paperRejectsBadArguments(arguments: [String]) {
        #expect(throws: (any Error).self) { try PaperCommand.parse(arguments) }
    }

    @Test func unknownOptimizerIsNamed() throws {
        let c = try PaperCommand.parse(["--only", "ngd,lbfgs"])
        #expect(throws: ValidationError.self) { try c.grid.optimizers() }
    }

    @Test func ngdOverridesAreValidated() throws {
        var s = NaturalGradientSettings()
        try NGDOptions.parse(["--ngd-lr", "0.1", "--ngd-block", "16", "--ngd-warmup", "10"]).apply(to: &s)
        #expect(s.learningRate == 0.1 && s.blockSize == 16 && s.warmup == 10)
        var t = NaturalGradientSettings()
        #expect(throws: ValidationError.self) { try NGDOptions.parse(["--ngd-factor-rate", "2"]).apply(to: &t) }
        #expect(throws: ValidationError.self) { try NGDOptions.parse(["--ngd-block", "0"]).apply(to: &t) }
    }

    @Test func raisingTheDampingFloorLiftsTheInitialDamping() throws {
        var s = NaturalGradientSettings()
        try NGDOptions.parse(["--ngd-min-damping", "0.05"]).apply(to: &s)
        #expect(s.minimumDamping == 0.05 && s.initialDamping == 0.05)
        var t = NaturalGradientSettings()
        #expect(throws: ValidationError.self) {
            try NGDOptions.parse(["--ngd-min-damping", "0.05", "--ngd-damping", "0.01"]).apply(to: &t)
        }
    }

    @Test func autoencoderRejectsBadArguments() {
        #expect(throws: (any Error).self) { try AutoencoderCommand.parse(["--test-images", "0"]) }
        #expect(throws: (any Error).self) { try AutoencoderCommand.parse(["--test-images", "20000"]) }
        #expect(throws: (any Error).self) { try AutoencoderCommand.parse(["--samples", "-5"]) }
    }
}
