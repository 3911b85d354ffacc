/// Scratch memory for the forward and backward passes over a block of up to `capacity`
/// samples, allocated once so that training allocates nothing per sample.
///
/// Row r of each buffer belongs to sample r of the block.
final class PassBuffers {
    /// The most samples a block may hold.
    let capacity: Int
    /// x₀…x_L. Row stride ``strides``[i]; when layers have biases, x₀…x_{L-1} carry a trailing
    /// constant 1 in each row, so each row is already the augmented input of the next layer.
    let activations: [DoubleBuffer]
    /// Row stride of each entry of ``activations``.
    let strides: [Int]
    /// φ'_i at the pre-activations of layer i, `capacity × n_i`; entry 0 is unused.
    let derivatives: [DoubleBuffer]

    init(architecture: Architecture, capacity: Int) {
        Kernels.configureSingleThreaded()
        self.capacity = capacity
        let b = architecture.bias ? 1 : 0
        let L = architecture.layerCount
        strides = architecture.sizes.enumerated().map { i, n in i < L ? n + b : n }
        activations = strides.map { DoubleBuffer(count: capacity * $0, repeating: 1) }
        derivatives = architecture.sizes.enumerated().map { i, n in DoubleBuffer(count: i == 0 ? 0 : capacity * n) }
    }

    /// Buffers for one set of back-propagated errors e₁…e_L (`capacity × n_i`; entry 0 unused).
    static func errorBuffers(architecture: Architecture, capacity: Int) -> [DoubleBuffer] {
        architecture.sizes.enumerated().map { i, n in DoubleBuffer(count: i == 0 ? 0 : capacity * n) }
    }
}

extension Network {
    /// Copies `k` inputs (row-major `k × n₀`) into x₀ of `buffers` and runs the forward pass,
    /// filling x₁…x_L and φ'₁…φ'_L.
    func forward(_ input: UnsafePointer<Double>, count k: Int, buffers: PassBuffers) {
        let n0 = architecture.inputSize
        let x0 = buffers.activations[0].base
        let ld0 = buffers.strides[0]
        if let z = standardizer {
            for r in 0..<k { z.standardize(input + r * n0, into: x0 + r * ld0) }
        } else {
            for r in 0..<k { (x0 + r * ld0).update(from: input + r * n0, count: n0) }
        }
        forwardLayers(count: k, buffers: buffers)
    }

    /// The forward pass from the x₀ already in `buffers`.
    func forwardLayers(count k: Int, buffers: PassBuffers) {
        for s in shapes {
            let i = s.index
            let xIn = buffers.activations[i - 1].base
            let xOut = buffers.activations[i].base
            let ldOut = buffers.strides[i]
            Kernels.multiplyTransposed(
                k: k, m: s.outputs, n: s.columns, x: xIn, ldx: buffers.strides[i - 1], w: weights(layer: i),
                ldw: s.columns, y: xOut, ldy: ldOut)
            let d = buffers.derivatives[i].base
            for r in 0..<k { s.activation.apply(xOut + r * ldOut, derivative: d + r * s.outputs, count: s.outputs) }
        }
    }

    /// Back-propagates errors (paper Eq. 8): given e_L in `errors[L]` (`k × n_L`), fills
    /// e_i = φ'_i ∘ (e_{i+1} W_{i+1}), where W_{i+1} excludes its bias column, for i = L-1…1.
    func backward(errors: [DoubleBuffer], count k: Int, buffers: PassBuffers) {
        var i = architecture.layerCount - 1
        while i >= 1 {
            let next = shapes[i]  // layer i+1
            let n = next.inputs
            let e = errors[i].base
            Kernels.multiply(
                k: k, m: next.outputs, n: n, e: errors[i + 1].base, lde: next.outputs, w: weights(layer: i + 1),
                ldw: next.columns, y: e, ldy: n)
            let d = buffers.derivatives[i].base
            for j in 0..<(k * n) { e[j] *= d[j] }
            i -= 1
        }
    }

    /// Checks that `values` holds `count` rows of `width` finite numbers.
    static func validate(_ values: UnsafeBufferPointer<Double>, count: Int, width: Int, what: String) throws {
        guard values.count == count * width else {
            throw MathError.dimensionMismatch(what: what, expected: count * width, got: values.count)
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw MathError.nonFiniteValue(what: what, index: bad)
        }
    }

    /// The network's predictions (x_L, or class probabilities) for `count` inputs (row-major
    /// `count × n₀`), as `count × n_L`.
    ///
    /// Evaluation only: it allocates its own scratch (for up to 256 rows at a time) and never
    /// changes the network.
    /// - Throws: ``MathError`` when `inputs` has the wrong length or a non-finite value.
    public func predict(_ inputs: [Double], count: Int) throws -> [Double] {
        let n0 = architecture.inputSize
        let nL = architecture.outputSize
        try inputs.withUnsafeBufferPointer { try Self.validate($0, count: count, width: n0, what: "inputs") }
        var out = [Double](repeating: 0, count: count * nL)
        let chunk = min(max(count, 1), 256)
        let buffers = PassBuffers(architecture: architecture, capacity: chunk)
        inputs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                var start = 0
                while start < count {
                    let k = min(chunk, count - start)
                    forward(x.baseAddress! + start * n0, count: k, buffers: buffers)
                    let xL = buffers.activations[architecture.layerCount].base
                    (y.baseAddress! + start * nL).update(from: xL, count: k * nL)
                    architecture.likelihood.predict(y.baseAddress! + start * nL, count: k, width: nL)
                    start += k
                }
            }
        }
        return out
    }

    /// The test error ngd reports: the mean over samples and output components of (y − x_L)².
    /// - Throws: ``MathError`` when the sizes disagree or a value is not finite.
    public func meanSquaredError(inputs: [Double], targets: [Double], count: Int) throws -> Double {
        let nL = architecture.outputSize
        try targets.withUnsafeBufferPointer { try Self.validate($0, count: count, width: nL, what: "targets") }
        let out = try predict(inputs, count: count)
        var s = 0.0
        for i in 0..<out.count {
            let d = targets[i] - out[i]
            s += d * d
        }
        return count == 0 ? 0 : s / Double(count * nL)
    }
}
