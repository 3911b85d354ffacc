import Foundation
import Testing

@testable import NGDMath

/// Backward and forward-mode passes against central finite differences of the loss.
@Suite struct GradientTests {
    static let variance = 0.5

    /// ℓ = Σ_j ½‖y_j − x_L(x_j)‖²/σ² (Gaussian) or −Σ_j Σ_c y_jc log p_jc with p_j =
    /// softmax(x_L(x_j)) (categorical), for the network's current parameters, written out here
    /// from the predictions.
    static func loss(_ net: Network, _ x: [Double], _ y: [Double], _ k: Int) -> Double {
        let out = try! net.predict(x, count: k)
        var s = 0.0
        if net.architecture.likelihood == .categorical {
            for i in 0..<out.count where y[i] != 0 { s -= y[i] * log(out[i]) }
            return s
        }
        for i in 0..<out.count { s += (y[i] - out[i]) * (y[i] - out[i]) }
        return 0.5 * s / variance
    }

    /// k one-hot rows of width n, classes drawn from `seed`.
    static func oneHot(_ k: Int, _ n: Int, seed: UInt64) -> [Double] {
        var r = RandomSource(seed: seed)
        var y = [Double](repeating: 0, count: k * n)
        for j in 0..<k { y[j * n + Int(r.nextOpenUnit() * Double(n)) % n] = 1 }
        return y
    }

    /// Targets for `net`: Gaussian draws, or one-hot classes.
    static func targets(_ net: Network, _ k: Int, seed: UInt64) -> [Double] {
        let n = net.architecture.outputSize
        return net.architecture.likelihood == .categorical ? oneHot(k, n, seed: seed) : gaussianArray(k * n, seed: seed)
    }

    static func smallNetwork(_ activations: [Activation], likelihood: Likelihood = .gaussian) throws -> Network {
        let sizes = [3, 4, 5, 2].prefix(activations.count + 1)
        let a = try Architecture(sizes: Array(sizes), activations: activations, bias: true, likelihood: likelihood)
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

    @Test(
        arguments: [[Activation.tanh, .tanh, .identity], [.sigmoid, .relu, .identity], [.tanh, .identity]],
        [Likelihood.gaussian, .categorical])
    func backwardGivesTheFiniteDifferenceGradient(activations: [Activation], likelihood: Likelihood) throws {
        let net = try Self.smallNetwork(activations, likelihood: likelihood)
        let a = net.architecture
        let k = 3
        let x = gaussianArray(k * a.inputSize, seed: 23)
        let y = Self.targets(net, k, seed: 24)
        // Library: −∂ℓ/∂W_i = Σ_j e_ij x_{i-1,j}ᵀ with e_L = Σ̃⁻¹(y − x_L), or y − softmax(x_L).
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
    static func preparedOptimizer(
        k: Int, likelihood: Likelihood
    ) throws -> (NaturalGradientOptimizer, [Double], [Double], [[Double]]) {
        let net = try smallNetwork([.tanh, .tanh, .identity], likelihood: likelihood)
        var s = NaturalGradientSettings()
        s.outputVariance = variance
        s.blockSize = k
        s.warmup = 20
        let opt = try NaturalGradientOptimizer(network: net, settings: s, seed: 5)
        let a = net.architecture
        try opt.train(
            inputs: gaussianArray(60 * a.inputSize, seed: 30), targets: targets(net, 60, seed: 31), count: 60)
        let x = gaussianArray(k * a.inputSize, seed: 32)
        let y = targets(net, k, seed: 33)
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

    @Test(arguments: [1, 4], [Likelihood.gaussian, .categorical])
    func linearAndQuadraticTermsOfTheStepModel(k: Int, likelihood: Likelihood) throws {
        let (opt, x, y, delta) = try Self.preparedOptimizer(k: k, likelihood: likelihood)
        let net = opt.network
        let categorical = likelihood == .categorical
        // The library's lin and q for the unit step Δ (directions() left the buffers filled).
        let lin = opt.preconditionAll(count: k)
        let q = opt.modelCurvature(count: k)
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
        // Gaussian: q = ‖J Δ‖²/σ² with J Δ = d x_L(θ + hΔ)/dh at 0. Categorical: q = δᵀ(diag p −
        // ppᵀ)δ with δ = d log p(θ + hΔ)/dh (the logits' derivative up to a per-row constant,
        // which diag p − ppᵀ ignores).
        let out = try net.predict(x, count: k)
        let n = net.architecture.outputSize
        var fdQ = 0.0
        for r in 0..<k {
            var mean = 0.0
            for j in 0..<n {
                let i = r * n + j
                let d = categorical ? (log(outUp[i]) - log(outDown[i])) / (2 * h) : (outUp[i] - outDown[i]) / (2 * h)
                fdQ += categorical ? out[i] * d * d : d * d / Self.variance
                mean += categorical ? out[i] * d : 0
            }
            fdQ -= mean * mean
        }
        #expect(abs(q - fdQ) / fdQ < 1e-6, "q \(q) vs finite differences \(fdQ)")
    }

    @Test(arguments: [1, 4], [Likelihood.gaussian, .categorical])
    func trialPassEqualsAForwardPassWithTheStepApplied(k: Int, likelihood: Likelihood) throws {
        let (opt, x, y, delta) = try Self.preparedOptimizer(k: k, likelihood: likelihood)
        let net = opt.network
        _ = opt.preconditionAll(count: k)
        let eta = 0.37
        let trial = y.withUnsafeBufferPointer { opt.trialLoss(step: eta, targets: $0.baseAddress!, count: k) }
        let before = net.parameters.array
        Self.move(net, by: delta, eta)
        let direct = Self.loss(net, x, y, k)
        net.parameters.assign(before)
        #expect(abs(trial - direct) / direct < 1e-12)
    }
}
