import Foundation
import NGDMath
import Testing

@testable import NGDDaemon

@Suite struct BinaryCoderTests {
    struct Sample: Codable, Equatable {
        enum Kind: String, Codable { case a, b }
        enum Payload: Codable, Equatable {
            case none
            case pair(Int, String)
            case named(x: Double, y: [Double])
        }
        var flag = true
        var int = -42
        var u64: UInt64 = .max
        var i8: Int8 = -128
        var double = -0.0
        var float: Float = 1.5
        var string = "héllo \u{0}"
        var optional: Int? = nil
        var present: String? = "x"
        var doubles: [Double] = [1, .nan, .infinity, -.infinity, 5e-324, .greatestFiniteMagnitude]
        var emptyDoubles: [Double] = []
        var nested: [[Int]] = [[1, 2], [], [3]]
        var dictionary: [String: Double] = ["k": 1]
        var kind = Kind.b
        var payloads: [Payload] = [.none, .pair(7, "s"), .named(x: 2, y: [3, 4])]
    }

    @Test func roundTripsEveryKindOfValueBitForBit() throws {
        let s = Sample()
        let bytes = try BinaryCoder.encode(s)
        let back = try BinaryCoder.decode(Sample.self, from: bytes)
        #expect(back.doubles.map(\.bitPattern) == s.doubles.map(\.bitPattern))
        #expect(back.double.bitPattern == s.double.bitPattern)
        var a = back
        var b = s
        a.doubles = []
        b.doubles = []
        #expect(a == b)
    }

    @Test func optimizerStatesRoundTripExactlyAsWithJSON() throws {
        for kind in OptimizerKind.allCases {
            var cfg = ModelConfig(name: "m", layers: [5, 7, 3])
            cfg.optimizer = kind
            let state = try cfg.makeOptimizer().state
            let viaBinary = try BinaryCoder.decode(OptimizerState.self, from: try BinaryCoder.encode(state))
            let viaJSON = try JSONDecoder().decode(OptimizerState.self, from: try JSONEncoder().encode(state))
            #expect(viaBinary == state && viaJSON == state)
        }
    }

    @Test func damagedBytesThrowInsteadOfCrashing() throws {
        let good = try BinaryCoder.encode(Sample())
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var bad = good
            let i = Int.random(in: 0..<bad.count, using: &rng)
            bad[i] = UInt8.random(in: 0...255, using: &rng)
            if bad == good { continue }
            // Either a clean error or (when the flipped byte sat inside a value) a different value.
            _ = try? BinaryCoder.decode(Sample.self, from: bad)
        }
        #expect(throws: (any Error).self) { try BinaryCoder.decode(Sample.self, from: Array(good.dropLast())) }
        #expect(throws: (any Error).self) { try BinaryCoder.decode(Sample.self, from: good + [0]) }
        #expect(throws: (any Error).self) { try BinaryCoder.decode(Int8.self, from: try BinaryCoder.encode(300)) }
        #expect(throws: (any Error).self) { try BinaryCoder.decode(Double.self, from: try BinaryCoder.encode("x")) }
    }
}
