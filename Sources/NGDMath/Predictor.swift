/// Evaluates a network on blocks of inputs with scratch allocated once, for callers that
/// predict on every message (the daemon). ``Network/predict(_:count:)`` allocates per call.
///
/// Thread safety: none; use it on the thread that owns the network.
public final class Predictor {
    public let network: Network
    private let buffers: PassBuffers
    /// Samples evaluated per forward pass; longer inputs are processed in chunks of this.
    public let chunk: Int

    public init(network: Network, chunk: Int = 256) {
        self.network = network
        self.chunk = max(1, chunk)
        buffers = PassBuffers(architecture: network.architecture, capacity: self.chunk)
    }

    /// Writes the predictions (x_L, or class probabilities) for `count` inputs (`count × n₀`, already validated) to `out`
    /// (`count × n_L`), using the network's current weights.
    package func predict(_ inputs: UnsafePointer<Double>, count: Int, into out: UnsafeMutablePointer<Double>) {
        let a = network.architecture
        let n0 = a.inputSize
        let nL = a.outputSize
        var start = 0
        while start < count {
            let k = min(chunk, count - start)
            network.forward(inputs + start * n0, count: k, buffers: buffers)
            (out + start * nL).update(from: buffers.activations[a.layerCount].base, count: k * nL)
            a.likelihood.predict(out + start * nL, count: k, width: nL)
            start += k
        }
    }

    /// ``predict(_:count:into:)`` for arrays, checking sizes and finiteness first.
    /// - Throws: ``MathError`` for a wrong length or a non-finite input.
    public func predict(_ inputs: [Double], count: Int) throws -> [Double] {
        let a = network.architecture
        try inputs.withUnsafeBufferPointer {
            try Network.validate($0, count: count, width: a.inputSize, what: "inputs")
        }
        var out = [Double](repeating: 0, count: count * a.outputSize)
        inputs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in predict(x.baseAddress!, count: count, into: y.baseAddress!) }
        }
        return out
    }
}
