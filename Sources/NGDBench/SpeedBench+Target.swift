import Foundation
import NGDMath

extension SpeedBench {
    /// How long ngd's NGD takes to bring the test mse within 2× of the noise floor.
    public struct TargetRow: Sendable {
        public let problem: String
        public let method: String
        /// Median µs per sample, training only.
        public let microseconds: Double
        /// Samples when the test mse (checked every `checkEvery`) first was ≤ 2× floor; nil if never.
        public let samplesToTarget: Int?
        /// Training seconds until then (test evaluations excluded).
        public let secondsToTarget: Double?

        public init(
            problem: String, method: String, microseconds: Double, samplesToTarget: Int?, secondsToTarget: Double?
        ) {
            self.problem = problem
            self.method = method
            self.microseconds = microseconds
            self.samplesToTarget = samplesToTarget
            self.secondsToTarget = secondsToTarget
        }
    }

    /// How often, in samples, the test mse is checked (the numpy peer uses the same interval).
    public static let targetCheckInterval = 200

    /// Streams `problem`'s training set (cycled, reshuffled) through NGD with `settings`,
    /// checking the test mse every `checkEvery` samples, until ≤ 2× floor or `maxSamples`.
    public static func timeToTarget(
        problem: TeacherProblem, label: String, settings: NaturalGradientSettings, maxSamples: Int,
        checkEvery: Int = targetCheckInterval
    ) throws -> TargetRow {
        let network = Network(architecture: problem.arch.architecture, seed: problem.studentSeed)
        let opt = try NaturalGradientOptimizer(network: network, settings: settings, seed: problem.seed &+ 0x5EED)
        var stream = SampleStream(problem.train, seed: problem.streamSeed)
        let k = max(settings.blockSize, (200 / settings.blockSize) * settings.blockSize)
        var x = [Double](repeating: 0, count: k * problem.train.inputSize)
        var y = [Double](repeating: 0, count: k * problem.train.outputSize)
        var seen = 0
        var nextCheck = checkEvery
        var seconds = 0.0
        var perSample: [Double] = []
        let clock = ContinuousClock()
        while seen < maxSamples {
            stream.next(k, inputs: &x, targets: &y)
            let t = try clock.measure { _ = try opt.train(inputs: x, targets: y, count: k) }
            let s = Double(t.components.seconds) + Double(t.components.attoseconds) / 1e18
            seconds += s
            perSample.append(s * 1e6 / Double(k))
            seen += k
            if seen >= nextCheck {
                nextCheck += checkEvery
                if problem.test.meanSquaredError(of: network) <= 2 * problem.floor {
                    return TargetRow(
                        problem: "\(problem.arch)", method: label, microseconds: median(perSample),
                        samplesToTarget: seen, secondsToTarget: seconds)
                }
            }
        }
        return TargetRow(
            problem: "\(problem.arch)", method: label, microseconds: median(perSample), samplesToTarget: nil,
            secondsToTarget: nil)
    }

    public static func targetTable(_ rows: [TargetRow]) -> String {
        var out =
            "Time to 2× the noise floor (test mse checked every \(targetCheckInterval) samples; training time only)\n"
        out += "problem  method                                µs/sample   samples to 2×floor   seconds to 2×floor\n"
        for r in rows {
            out += row([
                .left(r.problem, 9), .left(r.method, 36), .right(fmt(r.microseconds, digits: 1), 11),
                .right(r.samplesToTarget.map(String.init) ?? "not reached", 21),
                .right(r.secondsToTarget.map { String(format: "%.3f", $0) } ?? "—", 21),
            ])
        }
        return out
    }
}
