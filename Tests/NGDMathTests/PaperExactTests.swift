import Testing

@testable import NGDMath

/// The paper's exact result (Section 3, Eq. 16–18): in a deep linear network with square
/// invertible layers, with exact population covariances and no damping, the Eq. 10 updates of
/// all layers together move the end-to-end matrix W = W_L⋯W₁ along dW = −W + ⟨yxᵀ⟩Σ⁻¹.
@Suite struct PaperExactTests {
    @Test(arguments: [(3, 4), (5, 3), (2, 6)]) func endToEndUpdateIsTheLeastSquaresFlow(layers: Int, n: Int) throws {
        let variance = 0.3
        let arch = try Architecture(sizes: Array(repeating: n, count: layers + 1), hidden: .identity, bias: false)
        let net = Network(architecture: arch, initialization: .orthogonal(gain: 1), seed: UInt64(layers * 10 + n))
        // Perturb the orthogonal layers so they are invertible but not orthogonal.
        var r = RandomSource(seed: 99)
        for i in 0..<net.parameters.count { net.parameters.base[i] += 0.2 * r.nextGaussian() }
        var settings = NaturalGradientSettings()
        settings.outputVariance = variance
        settings.blockSize = n
        // No damping (the output layer's error factor is the exact Σ̃⁻¹, damped like the others).
        settings.initialDamping = 1e-300
        settings.minimumDamping = 1e-300
        let opt = try NaturalGradientOptimizer(network: net, settings: settings, seed: 1)

        // Input covariance Σ = S Sᵀ; the n columns of S are "samples" whose sum of outer
        // products is exactly Σ, so block sums below are exact population averages.
        let s = gaussianArray(n * n, seed: 7)
        let sigma = Dense.multiply(s, Dense.transpose(s, n, n), n, n, n)
        let inputs = Dense.transpose(s, n, n)  // row j = column j of S
        let teacher = gaussianArray(n * n, seed: 8)
        let targets = Dense.multiply(inputs, Dense.transpose(teacher, n, n), n, n, n)  // y_j = T x_j, ⟨yxᵀ⟩ = TΣ

        let w = (1...layers).map { Array(UnsafeBufferPointer(start: net.weights(layer: $0), count: n * n)) }
        func product(_ range: ClosedRange<Int>) -> [Double] {  // W_hi ⋯ W_lo (1-based), identity if empty
            var m = Dense.identity(n)
            for i in range { m = Dense.multiply(w[i - 1], m, n, n, n) }
            return m
        }
        // Exact factors (Eq. 14, 15): Λ_i = A_i Σ A_iᵀ, Λ̃_i = B_iᵀ Σ̃⁻¹ B_i.
        for i in 1...layers {
            let a = i > 1 ? product(1...(i - 1)) : Dense.identity(n)
            let b = i < layers ? product((i + 1)...layers) : Dense.identity(n)
            try opt.factors[i - 1].reset(
                covariance: Dense.multiply(Dense.multiply(a, sigma, n, n, n), Dense.transpose(a, n, n), n, n, n))
            try opt.errorFactors[i - 1].reset(
                covariance: Dense.multiply(Dense.transpose(b, n, n), b, n, n, n).map { $0 / variance })
        }

        let delta = try opt.directions(inputs: inputs, targets: targets, count: n)
        // dW = Σ_i B_i ΔW_i A_i (product rule, Eq. 17).
        var dW = [Double](repeating: 0, count: n * n)
        for i in 1...layers {
            let a = i > 1 ? product(1...(i - 1)) : Dense.identity(n)
            let b = i < layers ? product((i + 1)...layers) : Dense.identity(n)
            dW = Dense.add(dW, Dense.multiply(Dense.multiply(b, delta[i - 1], n, n, n), a, n, n, n))
        }
        // Eq. 18: −W + ⟨yxᵀ⟩Σ⁻¹ = T − W.
        let expected = Dense.add(teacher, product(1...layers), -1)
        let error = frobeniusRelativeError(dW, expected)
        #expect(error < 1e-9, "relative error \(error)")
    }

    /// The exactness anchor of the default schedule: for one linear layer with a Gaussian
    /// likelihood, online natural gradient with η_t = 1/(t + 1 + t₀) on bias-corrected factors
    /// from an identity prior of t₀ pseudo-samples is recursive least squares, whose closed form
    /// after t samples is W_t = (t₀W₀ + Σ_j y_j x̄_jᵀ)(t₀I + Σ_j x̄_j x̄_jᵀ)⁻¹, with x̄ = (x, 1).
    /// Damping, the floor and the memory limit are switched off; standardization too, so that
    /// x̄ is the raw input.
    @Test(arguments: [(3.0, 1), (3.0, 8), (20.0, 1)]) func oneLinearLayerIsRecursiveLeastSquares(
        prior: Double, block: Int
    ) throws {
        let nIn = 4
        let nOut = 2
        let n = nIn + 1
        let count = 10_000
        let arch = try Architecture(sizes: [nIn, nOut], activations: [.identity], bias: true)
        let net = Network(architecture: arch, seed: 5)
        let w0 = Array(UnsafeBufferPointer(start: net.weights(layer: 1), count: nOut * n))
        var s = NaturalGradientSettings()
        s.priorSamples = prior
        s.blockSize = block
        s.outputVariance = 0.7
        s.adaptiveFloor = false
        s.minimumFloor = 1e-15
        s.initialFloor = 1e-15
        s.memoryWidths = 1e6
        s.initialDamping = 1e-300
        s.minimumDamping = 1e-300
        s.clipToModelMinimum = false
        s.rejectWorseSteps = false
        let opt = try NaturalGradientOptimizer(network: net, settings: s, seed: 1)

        // Correlated inputs with an offset, and a noisy linear teacher.
        let mix = gaussianArray(nIn * nIn, seed: 11)
        let z = gaussianArray(count * nIn, seed: 12)
        var x = Dense.multiply(z, Dense.transpose(mix, nIn, nIn), count, nIn, nIn)
        for j in 0..<count { x[j * nIn] += 3 }
        let teacher = gaussianArray(nOut * nIn, seed: 13)
        var y = Dense.multiply(x, Dense.transpose(teacher, nOut, nIn), count, nIn, nOut)
        let noise = gaussianArray(count * nOut, seed: 14)
        for i in 0..<y.count { y[i] += 0.5 + 0.3 * noise[i] }

        var done = 0
        while done < count {
            let k = min(block, count - done)
            try opt.train(
                inputs: Array(x[(done * nIn)..<((done + k) * nIn)]),
                targets: Array(y[(done * nOut)..<((done + k) * nOut)]),
                count: k)
            done += k
        }

        // Closed form, from sums accumulated here.
        var gram = Dense.identity(n).map { $0 * prior }
        var cross = w0.map { $0 * prior }  // nOut × n
        for j in 0..<count {
            let xb = Array(x[(j * nIn)..<((j + 1) * nIn)]) + [1]
            for a in 0..<n { for b in 0..<n { gram[a * n + b] += xb[a] * xb[b] } }
            for o in 0..<nOut { for b in 0..<n { cross[o * n + b] += y[j * nOut + o] * xb[b] } }
        }
        let expected = Dense.multiply(cross, Dense.inverse(gram, n), nOut, n, n)
        let got = Array(UnsafeBufferPointer(start: opt.network.weights(layer: 1), count: nOut * n))
        let error = frobeniusRelativeError(got, expected)
        #expect(error < 1e-9, "relative error \(error)")
    }
}
