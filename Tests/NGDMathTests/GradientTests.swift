import Testing

@testable import NGDMath

/// Backward and forward-mode passes against central finite differences of the loss.
@Suite struct GradientTests {
    static let variance = 0.5

    /// ℓ = Σ_j ½‖y_j − x_L(x_j)‖²/σ² for the network's current parameters.
    static func loss(_ net: Network, _ x: [Double], _ y: [Double], _ k: Int) -> Double {
        let out = try! net.predict(x, count: k)
        var s = 0.0
        for i in 0..<out.count { s += (y[i] - out[i]) * (y[i] - out[i]) }
        return 0.5 * s / variance
    }

    static func smallNetwork(_ activations: [Activation]) throws -> Network {
        let sizes = [3, 4, 5, 2].prefix(activations.count + 1)
        let a = try Architecture(sizes: Array(sizes), activations: activations, bias: true)
        let net = Network(architecture: a, initialization: .gaussian(gain: 1.3), seed: 21)
        // Non-zero biases, so their gradients are exercised too.
        var r = RandomSource(seed: 22)
        for s in net.shapes {
            for row in 0..<s.outputs {
                net.weights(layer: s.index)[row * s.columns + s.inputs] = 0.3 * r.nextGaussian()
            }
        }
        return net
    }

    @Test(arguments: [[Activation.tanh, .tanh, .identity], [.sigmoid, .relu, .identity], [.tanh, .identity]])
    func backwardGivesTheFiniteDifferenceGradient(activations: [Activation]) throws {
        let net = try Self.smallNetwork(activations)
        let a = net.architecture
        let k = 3
        let x = gaussianArray(k * a.inputSize, seed: 23)
        let y = gaussianArray(k * a.outputSize, seed: 24)
        // Library: −∂ℓ/∂W_i = Σ_j e_ij x_{i-1,j}ᵀ with e_L = Σ̃⁻¹(y − x_L).
        let buffers = GradientBuffers(architecture: a, capacity: k)
        let gradient = DoubleBuffer(count: a.parameterCount)
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeBufferPointer { yb in
                _ = buffers.forwardBackward(
                    network: net, inputs: xb.baseAddress!, targets: yb.baseAddress!, count: k, scale: 1 / Self.variance)
            }
        }
        buffers.addGradientOuterProducts(network: net, count: k, alpha: -1, target: gradient.base)
        // Finite differences, parameter by parameter.
        let h = 1e-6
        var worst = 0.0
        for p in 0..<a.parameterCount {
            let saved = net.parameters[p]
            net.parameters[p] = saved + h
            let up = Self.loss(net, x, y, k)
            net.parameters[p] = saved - h
            let down = Self.loss(net, x, y, k)
            net.parameters[p] = saved
            let fd = (up - down) / (2 * h)
            worst = max(worst, abs(fd - gradient[p]) / max(1, abs(fd)))
        }
        #expect(worst < 1e-7, "worst relative gradient error \(worst)")
    }

    /// An NGD optimizer on a small tanh network, trained a little so its factors are non-trivial,
    /// with its direction for one block worked out.
    static func preparedOptimizer(k: Int) throws -> (NaturalGradientOptimizer, [Double], [Double], [[Double]]) {
        let net = try smallNetwork([.tanh, .tanh, .identity])
        var s = NaturalGradientSettings()
        s.outputVariance = variance
        s.blockSize = k
        s.warmup = 20
        s.factorRate = 0.05
        let opt = try NaturalGradientOptimizer(network: net, settings: s, seed: 5)
        let a = net.architecture
        try opt.train(
            inputs: gaussianArray(60 * a.inputSize, seed: 30), targets: gaussianArray(60 * a.outputSize, seed: 31),
            count: 60)
        let x = gaussianArray(k * a.inputSize, seed: 32)
        let y = gaussianArray(k * a.outputSize, seed: 33)
        let directions = try opt.directions(inputs: x, targets: y, count: k)
        return (opt, x, y, directions)
    }

    /// Moves the parameters by h·Δ.
    static func move(_ net: Network, by directions: [[Double]], _ h: Double) {
        for (s, d) in zip(net.shapes, directions) {
            let w = net.weights(layer: s.index)
            for i in 0..<d.count { w[i] += h * d[i] }
        }
    }

    @Test(arguments: [1, 4]) func linearAndQuadraticTermsOfTheStepModel(k: Int) throws {
        let (opt, x, y, delta) = try Self.preparedOptimizer(k: k)
        let net = opt.network
        // The library's lin and q for the unit step Δ (directions() left the buffers filled).
        let lin = opt.preconditionAll(count: k)
        let q = opt.modelCurvature(count: k) / Self.variance
        // lin = −dℓ(θ + hΔ)/dh at 0.
        let h = 1e-5
        Self.move(net, by: delta, h)
        let up = Self.loss(net, x, y, k)
        let outUp = try net.predict(x, count: k)
        Self.move(net, by: delta, -2 * h)
        let down = Self.loss(net, x, y, k)
        let outDown = try net.predict(x, count: k)
        Self.move(net, by: delta, h)
        let fdLin = -(up - down) / (2 * h)
        #expect(abs(lin - fdLin) / abs(fdLin) < 1e-6, "lin \(lin) vs finite differences \(fdLin)")
        // q = ‖J Δ‖²/σ², J Δ = d x_L(θ + hΔ)/dh at 0.
        var fdQ = 0.0
        for i in 0..<outUp.count {
            let d = (outUp[i] - outDown[i]) / (2 * h)
            fdQ += d * d
        }
        fdQ /= Self.variance
        #expect(abs(q - fdQ) / fdQ < 1e-6, "q \(q) vs finite differences \(fdQ)")
    }

    @Test(arguments: [1, 4]) func trialPassEqualsAForwardPassWithTheStepApplied(k: Int) throws {
        let (opt, x, y, delta) = try Self.preparedOptimizer(k: k)
        let net = opt.network
        _ = opt.preconditionAll(count: k)
        let eta = 0.37
        let trial = y.withUnsafeBufferPointer { opt.trialLoss(step: eta, targets: $0.baseAddress!, count: k) }
        let before = net.parameters.array
        Self.move(net, by: delta, eta)
        let direct = Self.loss(net, x, y, k) * Self.variance
        net.parameters.assign(before)
        #expect(abs(trial - direct) / direct < 1e-12)
    }
}
