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
        var doubles: [Double] = [1, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
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
        let seed: UInt64 = 0x5EED_0001
        var rng = RandomSource(seed: seed)
        var decoded = 0
        var refused = 0
        for _ in 0..<2000 {
            var bad = good
            let i = rng.nextIndex(below: bad.count)
            bad[i] = UInt8(truncatingIfNeeded: rng.next())
            if bad == good { continue }
            // Either a clean error, or (when the changed byte sat inside a value or a key) a
            // well-formed value: one that encodes and decodes back to itself, bit for bit.
            if let value = try? BinaryCoder.decode(Sample.self, from: bad) {
                decoded += 1
                let once = try BinaryCoder.encode(value)
                let twice = try BinaryCoder.encode(try BinaryCoder.decode(Sample.self, from: once))
                #expect(once == twice, "seed \(seed): byte \(i) = \(bad[i]) decoded to \(value)")
            } else {
                refused += 1
            }
        }
        // Both outcomes occur: the loop exercised the decoder's checks and its values.
        #expect(decoded > 0 && refused > 0, "seed \(seed): \(decoded) decoded, \(refused) refused")
        #expect(throws: (any Error).self) { try BinaryCoder.decode(Sample.self, from: Array(good.dropLast())) }
        #expect(throws: (any Error).self) { try BinaryCoder.decode(Sample.self, from: good + [0]) }
        #expect(throws: (any Error).self) { try BinaryCoder.decode(Int8.self, from: try BinaryCoder.encode(300)) }
        #expect(throws: (any Error).self) { try BinaryCoder.decode(Double.self, from: try BinaryCoder.encode("x")) }
    }
}
