import Testing

@testable import NGDMath

@Suite struct NetworkTests {
    @Test func architectureValidation() throws {
        #expect(throws: MathError.self) { try Architecture(sizes: [3], hidden: .tanh, bias: true) }
        #expect(throws: MathError.self) { try Architecture(sizes: [3, 0, 2], hidden: .tanh, bias: true) }
        #expect(throws: MathError.self) { try Architecture(sizes: [3, 1 << 17], hidden: .tanh, bias: true) }
        #expect(throws: MathError.self) { try Architecture(sizes: [3, 4, 2], activations: [.tanh], bias: true) }
        #expect(throws: MathError.self) {
            try Architecture(sizes: [3, 4, 2], activations: [.tanh, .tanh], bias: true)
        }
        let a = try Architecture(sizes: [3, 4, 2], hidden: .relu, bias: true)
        #expect(a.activations == [.relu, .identity])
        #expect(a.parameterCount == 4 * 4 + 2 * 5)
        #expect(a.layerShapes.map(\.offset) == [0, 16])
        #expect(try Architecture(sizes: [3, 4, 2], hidden: .relu, bias: false).parameterCount == 12 + 8)
    }

    @Test func forwardPassMatchesADirectComputation() throws {
        let a = try Architecture(sizes: [3, 4, 2], activations: [.sigmoid, .identity], bias: true)
        let net = Network(architecture: a, seed: 2)
        let x = [0.5, -1.0, 2.0]
        let w1 = Array(UnsafeBufferPointer(start: net.weights(layer: 1), count: 16))
        let w2 = Array(UnsafeBufferPointer(start: net.weights(layer: 2), count: 10))
        net.weights(layer: 1)[3] = 0.25  // a bias
        var h = [Double](repeating: 0, count: 4)
        for i in 0..<4 {
            var s = i == 0 ? 0.25 : w1[i * 4 + 3]
            for j in 0..<3 { s += w1[i * 4 + j] * x[j] }
            h[i] = Activation.sigmoid.value(s)
        }
        var expected = [Double](repeating: 0, count: 2)
        for i in 0..<2 {
            var s = w2[i * 5 + 4]
            for j in 0..<4 { s += w2[i * 5 + j] * h[j] }
            expected[i] = s
        }
        #expect(relativeError(try net.predict(x, count: 1), expected) < 1e-14)
        // A batch gives the same rows as one at a time.
        let batch = gaussianArray(300 * 3, seed: 4)
        let all = try net.predict(batch, count: 300)
        let one = try net.predict(Array(batch[(299 * 3)...]), count: 1)
        #expect(relativeError(Array(all[(299 * 2)...]), one) < 1e-14)
    }

    @Test func gaussianInitialisationHasTheRequestedVariance() throws {
        let a = try Architecture(sizes: [400, 300], hidden: .identity, bias: true)
        let net = Network(architecture: a, initialization: .gaussian(gain: 2), seed: 3)
        var s = 0.0
        var biases = 0.0
        for r in 0..<300 {
            for c in 0..<400 { s += net.parameters[r * 401 + c] * net.parameters[r * 401 + c] }
            biases += abs(net.parameters[r * 401 + 400])
        }
        let variance = s / Double(300 * 400)
        #expect(abs(variance - 4.0 / 400) < 0.02 * 4.0 / 400)  // 120k draws: ±0.4 % s.d.
        #expect(biases == 0)
    }

    @Test(arguments: [(5, 5), (3, 8), (8, 3)]) func orthogonalInitialisation(rows: Int, columns: Int) throws {
        let a = try Architecture(sizes: [columns, rows], hidden: .identity, bias: false)
        let net = Network(architecture: a, initialization: .orthogonal(gain: 1), seed: 4)
        let w = net.parameters.array
        let wt = Dense.transpose(w, rows, columns)
        let gram =
            rows <= columns ? Dense.multiply(w, wt, rows, columns, rows) : Dense.multiply(wt, w, columns, rows, columns)
        #expect(relativeError(gram, Dense.identity(min(rows, columns))) < 1e-13)
    }

    @Test func sameSeedSameWeights() throws {
        let a = try Architecture(sizes: [7, 5, 3], hidden: .tanh, bias: true)
        #expect(
            Network(architecture: a, seed: 9).parameters.array == Network(architecture: a, seed: 9).parameters.array)
        #expect(
            Network(architecture: a, seed: 9).parameters.array != Network(architecture: a, seed: 10).parameters.array)
    }

    @Test func predictRejectsBadInput() throws {
        let net = Network(architecture: try Architecture(sizes: [2, 1], hidden: .identity, bias: false), seed: 1)
        #expect(throws: MathError.dimensionMismatch(what: "inputs", expected: 4, got: 3)) {
            try net.predict([1, 2, 3], count: 2)
        }
        #expect(throws: MathError.nonFiniteValue(what: "inputs", index: 1)) { try net.predict([1, .nan], count: 1) }
        #expect(throws: MathError.self) {
            try Network(state: NetworkState(architecture: net.architecture, parameters: [1]))
        }
    }

    @Test func xoshiroAndSplitMixKnownAnswers() throws {
        // Published outputs of the reference C implementations.
        var r = try RandomSource(state: [1, 2, 3, 4])
        #expect((0..<4).map { _ in r.next() } == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
        var s: UInt64 = 0
        #expect(RandomSource.splitMix64(&s) == 0xE220_A839_7B1D_CDAF)
        #expect(RandomSource.splitMix64(&s) == 0x6E78_9E6A_A1B9_65F4)
        #expect(throws: MathError.self) { try RandomSource(state: [0, 0, 0, 0]) }
        #expect(throws: MathError.self) { try RandomSource(state: [1, 2]) }
    }

    @Test func gaussianDrawsHaveUnitVariance() {
        var r = RandomSource(seed: 5)
        let n = 200_000
        var sum = 0.0
        var sq = 0.0
        var fourth = 0.0
        for _ in 0..<n {
            let g = r.nextGaussian()
            sum += g
            sq += g * g
            fourth += g * g * g * g
        }
        // Standard errors: mean 1/√n ≈ 0.0022, variance √(2/n) ≈ 0.0032, 4th moment √(96/n) ≈ 0.022.
        #expect(abs(sum / Double(n)) < 0.011)
        #expect(abs(sq / Double(n) - 1) < 0.016)
        #expect(abs(fourth / Double(n) - 3) < 0.11)
    }

    @Test func uniformIndicesAreUnbiased() {
        var r = RandomSource(seed: 6)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 { counts[r.nextIndex(below: 6)] += 1 }
        // Each count ~ Binomial(60000, 1/6): s.d. ≈ 91.
        #expect(counts.allSatisfy { abs($0 - 10_000) < 460 })
    }
}

@Suite struct PredictorTests {
    @Test func matchesNetworkPredictAcrossChunksAndFollowsWeightChanges() throws {
        let net = Network(architecture: try Architecture(sizes: [5, 7, 3], hidden: .tanh, bias: true), seed: 3)
        var rng = RandomSource(seed: 9)
        let x = (0..<(11 * 5)).map { _ in rng.nextGaussian() }
        let p = Predictor(network: net, chunk: 4)  // 11 samples: chunks of 4, 4, 3
        #expect(try p.predict(x, count: 11) == net.predict(x, count: 11))
        net.parameters.base[0] += 0.5
        #expect(try p.predict(x, count: 11) == net.predict(x, count: 11))
        #expect(throws: MathError.self) { try p.predict(Array(x.dropLast()), count: 11) }
        #expect(throws: MathError.self) { try p.predict([.nan] + x.dropFirst(), count: 11) }
    }
}
