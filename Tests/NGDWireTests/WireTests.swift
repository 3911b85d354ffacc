import Foundation
import NGDTestSupport
import Testing

@testable import NGDWire

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct JSONTests {
    @Test func doublesRoundTripBitForBitThroughWriterAndParser() throws {
        var g = SeededGenerator(seed: 20_261_202)
        var values: [Double] = [
            0, -0.0, 1, -1, 0.1, 1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e16, 123456789.125,
        ]
        for _ in 0..<2000 {
            values.append(Double(bitPattern: g.next() & 0x7FEF_FFFF_FFFF_FFFF | (g.next() & (1 << 63))))
        }
        var w = JSONWriter()
        w.value(doubles: values)
        let items = try #require(try JSONValue.parse(w.bytes).array)
        for (a, b) in zip(values, items) {
            let d = try #require(b.double, "seed \(g.seed)")
            #expect(d.bitPattern == a.bitPattern)
        }
        // The standard library's own parser reads the written text as the same values.
        let texts = w.string.dropFirst().dropLast().split(separator: ",")
        #expect(zip(values, texts).allSatisfy { $0.bitPattern == Double(String($1))!.bitPattern })
    }

    @Test func parsesTheJSONGrammarLikeFoundation() throws {
        let doc =
            #" { "a" : [1, -2.5e3, 0.0, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"], "b": {} , "c": [] } "#
        let v = try JSONValue.parse(bytes(doc))
        let f = try JSONSerialization.jsonObject(with: Data(doc.utf8)) as! [String: Any]
        let a = f["a"] as! [Any]
        let items = try #require(v["a"]?.array)
        #expect(items[0] == .number(1, text: "1") && items[1] == .number(-2500, text: ""))
        #expect(items[3] == .bool(true) && items[4] == .bool(false) && items[5] == .null)
        #expect(items[6] == .string(a[6] as! String))
        #expect(v["b"] == .object([]) && v["c"] == .array([]))
        // The writer escapes what the parser unescapes.
        var w = JSONWriter()
        w.value(v)
        #expect(try JSONValue.parse(w.bytes) == v)
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[01]", "[1.]", "[1e]", "[-]", "[+1]", "[.5]", "{\"a\":1,}",
        "{\"a\":1}x", "[\"\\x\"]", "[\"\u{01}\"]", "[\"abc", "[tru]", "{\"a\":1,\"a\":2}", "[\"\\ud800\"]", "{1:2}",
        String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ]) func rejectsMalformedJSON(doc: String) { #expect(throws: WireError.self) { try JSONValue.parse(bytes(doc)) } }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONValue.parse(bytes(#"{"x": [1, 2,, 3]}"#))
            Issue.record("should throw")
        } catch { #expect("\(error)" == "malformed JSON: expected a value at byte 12") }
    }
}

@Suite struct SampleMessageTests {
    @Test func jsonSingleBatchPredictOnlyAndIDs() throws {
        let s = try SampleMessage.decode(bytes(#"  {"x": [1, 2], "y": [3], "id": "abc"}"#))
        #expect(s.count == 1 && s.inputWidth == 2 && s.outputWidth == 1 && s.x == [1, 2] && s.y == [3] && !s.isBatch)
        #expect(s.id == .json(.string("abc")) && s.encoding == .json)
        let b = try SampleMessage.decode(
            bytes(#"{"x": [[1, 2], [3, 4], [5, 6]], "y": [[1], [2], [3]], "id": 18446744073709551615}"#))
        #expect(b.count == 3 && b.x == [1, 2, 3, 4, 5, 6] && b.y == [1, 2, 3] && b.isBatch)
        // A u64-sized id is echoed with its original digits.
        let echoed = ErrorMessage(model: "m", id: b.id, reason: "r").encode()
        #expect(String(decoding: echoed, as: UTF8.self) == #"{"model":"m","id":18446744073709551615,"reason":"r"}"#)
        let p = try SampleMessage.decode(bytes(#"{"x": [[1], [2]]}"#))
        #expect(p.y == nil && p.outputWidth == 0 && p.count == 2 && p.id == .none)
    }

    @Test(arguments: [
        (#"{"y": [1]}"#, "missing x"), (#"{"x": null}"#, "missing x"), (#"{"x": []}"#, "x is empty"),
        (#"{"x": [[]]}"#, "x[0] is empty"), (#"{"x": 3}"#, "x must be an array of numbers, not a number"),
        (#"{"x": [1, "a"]}"#, "x must hold only numbers; sample 0, index 1 is a string"),
        (#"{"x": [[1, 2], [3]]}"#, "ragged batch: x[1] has 1 values, x[0] has 2"),
        (#"{"x": [[1], [2]], "y": [[1, 2], [3]]}"#, "ragged batch: y[1] has 1 values, y[0] has 2"),
        (#"{"x": [[1], [2]], "y": [[1]]}"#, "x has 2 samples but y has 1"),
        (#"{"x": [[1], [2]], "y": [1, 2]}"#, "x is a batch (a list of vectors) but y is a single vector"),
        (#"{"x": [1e999]}"#, "non-finite value in x (sample 0, index 0)"),
        (#"{"x": [1], "y": [-1e400]}"#, "non-finite value in y (sample 0, index 0)"),
        (#"{"x": [1], "id": [1]}"#, "id must be a string or a number, not an array"),
        (
            #"[1, 2]"#,
            "payload is neither JSON (first non-space byte '{') nor NGD1 (magic 'NGD1'); it starts with '[1, 2]'"
        ),
        (#"{"x": [1]"#, "malformed JSON: expected ',' or '}' at the end of the payload"),
        ("hello", "payload is neither JSON (first non-space byte '{') nor NGD1 (magic 'NGD1'); it starts with 'hello'"),
        (
            "",
            "payload is neither JSON (first non-space byte '{') nor NGD1 (magic 'NGD1'); it starts with nothing (empty payload)"
        ),
    ]) func badJSONMessagesGetAReason(payload: String, reason: String) {
        do {
            _ = try SampleMessage.decode(bytes(payload))
            Issue.record("accepted \(payload)")
        } catch { #expect("\(error)" == reason) }
    }

    /// A refused message's id, when it can be read, goes back in the error: every structural
    /// error of a JSON object with an id, and every NGD1 payload with a whole header.
    @Test(arguments: [
        (#"{"id": "a7", "y": [1]}"#, MessageID.json(.string("a7"))),
        (#"{"x": [[1, 2], [3]], "id": 12}"#, .json(.number(12, text: "12"))),
        (#"{"x": [[1], [2]], "y": [[1], [2], [3]], "id": 5}"#, .json(.number(5, text: "5"))),
        (#"{"x": [], "id": "e"}"#, .json(.string("e"))),
        (#"{"x": [1], "id": [1]}"#, .none), (#"{"y": [1], "id": null}"#, .none), (#"{"x": [1], "id": 3"#, .none),
        ("hello", .none),
    ]) func refusedJSONKeepsItsReadableID(payload: String, id: MessageID) {
        #expect(throws: WireError.self) { try SampleMessage.decode(bytes(payload)) }
        #expect(SampleMessage.readableID(bytes(payload)) == id)
    }

    @Test func refusedNGD1KeepsItsHeaderID() throws {
        // k = n_x = 0xFFFFFFFF: refused (too many values), yet the id field is readable.
        var p = NGD1.magic + [2, 0, 0, 0] + Array(repeating: 0xFF, count: 8) + [0, 0, 0, 0]
        p += [0x2A, 0, 0, 0, 0, 0, 0, 0x01]
        #expect(throws: WireError.self) { try SampleMessage.decode(p) }
        #expect(SampleMessage.readableID(p) == .u64(0x0100_0000_0000_002A))
        #expect(SampleMessage.readableID(Array(p.prefix(27))) == .none)
    }

    /// JSON `label`: one class index per sample, carried as a y of width 1 with `hasLabels`.
    @Test func jsonLabelsAreClassIndices() throws {
        let one = try SampleMessage.decode(bytes(#"{"x": [1, 2], "label": 2}"#))
        #expect(one.y == [2] && one.outputWidth == 1 && one.hasLabels && !one.isBatch)
        let batch = try SampleMessage.decode(bytes(#"{"x": [[1], [2], [3]], "label": [0, 1, 0]}"#))
        #expect(batch.y == [0, 1, 0] && batch.count == 3 && batch.hasLabels)
        let plain = try SampleMessage.decode(bytes(#"{"x": [1], "y": [2]}"#))
        #expect(!plain.hasLabels)
        // The encoder writes labels back as "label".
        let again = try SampleMessage.decode(batch.encode())
        #expect(again.y == batch.y && again.hasLabels)
    }

    @Test(arguments: [
        (#"{"x": [1], "label": 1.5}"#, "label must hold class indices 0, 1, 2, …; sample 0 is a number"),
        (#"{"x": [1], "label": -1}"#, "label must hold class indices 0, 1, 2, …; sample 0 is a number"),
        (#"{"x": [1], "label": "cat"}"#, "label must hold class indices 0, 1, 2, …; sample 0 is a string"),
        (#"{"x": [1], "label": 1e30}"#, "label must hold class indices 0, 1, 2, …; sample 0 is a number"),
        (#"{"x": [1], "y": [1], "label": 0}"#, "give y or label, not both"),
        (#"{"x": [[1], [2]], "label": [0]}"#, "x has 2 samples but label has 1"),
        (#"{"x": [[1], [2]], "label": 0}"#, "x is a batch but label is a single class"),
        (#"{"x": [1], "label": [0]}"#, "x is a single vector but label is a list"),
    ]) func badLabelsGetAReason(payload: String, reason: String) {
        do {
            _ = try SampleMessage.decode(bytes(payload))
            Issue.record("accepted \(payload)")
        } catch { #expect("\(error)" == reason) }
    }

    @Test func ngd1RoundTripsBothDTypes() throws {
        let x: [Double] = [1.5, -2, 0.1, 3, 4, 5]
        let y: [Double] = [0.25, -7]
        for dtype in [NGD1.DType.float32, .float64] {
            let p = NGD1.encode(dtype: dtype, count: 2, inputWidth: 3, outputWidth: 1, id: 42, x: x, y: y)
            #expect(p.count == 28 + 8 * dtype.size)
            let s = try SampleMessage.decode(p)
            #expect(s.count == 2 && s.inputWidth == 3 && s.outputWidth == 1 && s.id == .u64(42))
            #expect(s.x == x.map { dtype == .float32 ? Double(Float($0)) : $0 } && s.y == y)
            #expect(s.encoding == .ngd1(dtype))
            let q = NGD1.encode(dtype: dtype, count: 2, inputWidth: 3, outputWidth: 0, id: 7, x: x, y: nil)
            #expect(try SampleMessage.decode(q).y == nil)
        }
        // Header bytes laid out as the table says (little-endian).
        let p = NGD1.encode(
            dtype: .float64, count: 2, inputWidth: 3, outputWidth: 1, id: 0x0102_0304_0506_0708, x: x, y: y)
        #expect(Array(p[0..<8]) == [0x4E, 0x47, 0x44, 0x31, 2, 1, 0, 0])
        #expect(Array(p[8..<28]) == [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1])
        #expect(Array(p[28..<36]) == withUnsafeBytes(of: 1.5.bitPattern.littleEndian) { Array($0) })
    }

    @Test func ngd1PredictionEncodesAndDecodes() throws {
        let req = try SampleMessage.decode(
            NGD1.encode(dtype: .float32, count: 2, inputWidth: 1, outputWidth: 0, id: 9, x: [1, 2], y: nil))
        let out = PredictionMessage(model: "m", seq: 3, request: req, values: [0.5, 0.25, 1, 2], width: 2).encode()
        #expect(out[4] == 1 && out[5] == NGD1.flagPrediction)
        let d = try NGD1.decodePrediction(out)
        #expect(d.count == 2 && d.outputWidth == 2 && d.id == 9 && d.values == [0.5, 0.25, 1, 2])
    }

    @Test func badNGD1HeadersAndLengths() {
        let good = NGD1.encode(dtype: .float64, count: 1, inputWidth: 2, outputWidth: 1, id: 1, x: [1, 2], y: [3])
        func mutate(_ at: Int, _ v: UInt8) -> [UInt8] {
            var p = good
            p[at] = v
            return p
        }
        let cases: [([UInt8], String)] = [
            (Array(good[0..<20]), "bad NGD1 header: the payload has 20 bytes, shorter than the 28-byte header"),
            (mutate(4, 3), "bad NGD1 header: dtype 3 is not 1 (float32) or 2 (float64)"),
            (mutate(5, 3), "bad NGD1 header: flag bit 1 (prediction) is for output only"),
            (mutate(5, 4), "bad NGD1 header: unknown flag bits 0x4"),
            (mutate(6, 1), "bad NGD1 header: reserved bytes 6–7 must be 0, got 1"),
            (mutate(8, 0), "bad NGD1 header: k is 0; a message holds at least one sample"),
            (mutate(12, 0), "bad NGD1 header: n_x is 0: missing x"),
            (mutate(5, 0), "bad NGD1 header: n_y is 1 but flag bit 0 (y present) is clear"),
            (mutate(16, 0), "bad NGD1 header: flag bit 0 (y present) is set but n_y is 0"),
            (Array(good.dropLast()), "NGD1 payload length mismatch: the header implies 52 bytes, the payload has 51"),
            (good + [0], "NGD1 payload length mismatch: the header implies 52 bytes, the payload has 53"),
            (mutate(8, 255), "NGD1 payload length mismatch: the header implies 6148 bytes, the payload has 52"),
            // k · n_x overflows Int64: refused from the header alone.
            (
                Self.hex("4e47443102000000ffffffffffffffff000000000100000000000000"),
                "bad NGD1 header: k = 4294967295, n_x = 4294967295, n_y = 0 describe more values than a payload can hold"
            ),
            (
                NGD1.encode(dtype: .float64, count: 1, inputWidth: 2, outputWidth: 1, id: 1, x: [1, .nan], y: [3]),
                "non-finite value in x (sample 0, index 1)"
            ),
            (
                NGD1.encode(
                    dtype: .float32, count: 2, inputWidth: 1, outputWidth: 1, id: 1, x: [1, 2], y: [3, .infinity]),
                "non-finite value in y (sample 1, index 0)"
            ),
        ]
        for (p, reason) in cases {
            do {
                _ = try SampleMessage.decode(p)
                Issue.record("accepted: \(reason)")
            } catch { #expect("\(error)" == reason) }
        }
    }

    @Test func jsonPredictionAndLossPayloads() throws {
        let req = try SampleMessage.decode(bytes(#"{"x": [[1], [2]], "id": 5}"#))
        let p = PredictionMessage(model: "m", seq: 10, request: req, values: [0.1, 0.2, 0.3, 0.4], width: 2).encode()
        #expect(String(decoding: p, as: UTF8.self) == #"{"model":"m","seq":10,"id":5,"y_hat":[[0.1,0.2],[0.3,0.4]]}"#)
        let l = LossMessage(model: "m", seq: 10, id: .none, count: 2, mse: 0.5, loss: 1e-7, lossEMA: .nan, samples: 12)
            .encode()
        #expect(
            String(decoding: l, as: UTF8.self)
                == #"{"model":"m","seq":10,"id":null,"n":2,"mse":0.5,"loss":1e-07,"loss_ema":null,"samples":12}"#)
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }
}

/// Every message of the protocol decodes back to what was encoded: the daemon's writer and the
/// client's reader are one definition each, in NGDWire.
@Suite struct ProtocolRoundTripTests {
    @Test func outputMessagesRoundTrip() throws {
        let json = SampleMessage(x: [1, 2, 3, 4], y: nil, count: 2, id: .json(.string("a")), encoding: .json)
        let ngd1 = SampleMessage(x: [1, 2], y: nil, count: 1, id: .u64(7), encoding: .ngd1(.float64))
        for (request, values) in [(json, [0.5, -1, 2, 3e-300]), (ngd1, [0.25, 4])] {
            let p = PredictionMessage(
                model: "m", seq: 3, request: request, values: values, width: values.count / request.count)
            let decoded = try PredictionMessage.decode(p.encode(), model: "m")
            #expect(try OutputMessage.decode(topic: "prediction.m", payload: p.encode()) == .prediction(decoded))
            var back = decoded
            if case .ngd1 = request.encoding { back.seq = 3 }  // NGD1 carries no seq
            #expect(back == p)
        }
        let loss = LossMessage(
            model: "m", seq: 9, id: .json(.number(5, text: "5")), count: 2, mse: 0.25, loss: 1, lossEMA: 2, samples: 11)
        #expect(try LossMessage.decode(loss.encode()) == loss)
        let classes = LossMessage(
            model: "m", seq: 9, id: .none, count: 4, mse: 0.1, loss: 0.3, lossEMA: 0.4, samples: 11, logLoss: 0.3,
            accuracy: 0.75)
        #expect(try LossMessage.decode(classes.encode()) == classes)
        #expect(String(decoding: classes.encode(), as: UTF8.self).hasSuffix(#""log_loss":0.3,"accuracy":0.75}"#))
        let stats = StatsMessage(
            model: "m", samplesPerSecond: 10.5, samples: 3, seq: 2, lossEMA: nil, mseEMA: 0.5, damping: 1e-8,
            rejected: 1, rejectedSteps: 0, optimizer: "ngd", paused: true, uptime: 3.5, checkpointAge: nil)
        #expect(try StatsMessage.decode(stats.encode()) == stats)
        let error = ErrorMessage(model: nil, id: .none, reason: "bad")
        #expect(try OutputMessage.decode(topic: "error.", payload: error.encode()) == .error(error))
        #expect(throws: WireError.self) { try OutputMessage.decode(topic: "bogus.m", payload: error.encode()) }
        #expect(throws: WireError.self) { try LossMessage.decode(Array(#"{"model": "m"}"#.utf8)) }
    }

    @Test func aNonFiniteLossReadsAsNaN() throws {
        let loss = LossMessage(
            model: "m", seq: 1, id: .none, count: 1, mse: .infinity, loss: .nan, lossEMA: 1, samples: 1)
        let back = try LossMessage.decode(loss.encode())
        #expect(back.mse.isNaN && back.loss.isNaN && back.lossEMA == 1)
    }

    @Test func controlRequestsAndRepliesRoundTrip() throws {
        let requests: [ControlRequest] = [
            .status, .checkpoint, .pause(model: "a"), .resume(model: "b"),
            .predict(model: "m", x: Rows([[1, 2], [3, 4]])),
            .predict(model: "m", x: Rows(values: [1, 2], count: 1, width: 2, isBatch: false)),
        ]
        for r in requests { #expect(try ControlRequest.decode(r.encode()) == r) }
        let stats = StatsMessage(
            model: "m", samplesPerSecond: 0, samples: 5, seq: 4, lossEMA: 0.5, mseEMA: nil, damping: 0.01, rejected: 0,
            rejectedSteps: 1, optimizer: "ngd", paused: false, uptime: 3, checkpointAge: 2)
        let model = ModelStatus(
            topic: "t", layers: [2, 3], activation: "tanh", bias: true, learningRate: 0.01, batch: 1, stats: stats)
        let replies: [(ControlReply, ControlRequest)] = [
            (.status(uptime: 1.5, models: [model]), .status),
            (.checkpoint(ok: true, paths: ["/x"], error: nil), .checkpoint),
            (.checkpoint(ok: false, paths: [], error: "disk full"), .checkpoint),
            (.paused(model: "m", paused: true), .pause(model: "m")),
            (.prediction(Rows(values: [1, 2], count: 1, width: 2, isBatch: false)), requests[5]),
            (.error("unknown model 'x'"), .status),
        ]
        for (reply, request) in replies { #expect(try ControlReply.decode(reply.encode(), for: request) == reply) }
    }

    /// A snapshot reply is two frames, the file's length said in the first: a frame missing, a
    /// length that disagrees, or a one-frame read are errors; an error reply is one frame.
    @Test func snapshotRepliesCarryTheFileAsASecondFrame() throws {
        let request = ControlRequest.snapshot(model: "m")
        #expect(try ControlRequest.decode(request.encode()) == request)
        let reply = ControlReply.snapshot(model: "m", seq: 7, digest: "00ff", file: [1, 2, 3])
        #expect(reply.frames.count == 2 && reply.frames[1] == [1, 2, 3])
        #expect(try ControlReply.decode(frames: reply.frames, for: request) == reply)
        #expect(throws: WireError.self) { try ControlReply.decode(frames: [reply.frames[0]], for: request) }
        #expect(throws: WireError.self) { try ControlReply.decode(frames: [reply.frames[0], [1, 2]], for: request) }
        #expect(throws: WireError.self) { try ControlReply.decode(reply.encode(), for: request) }
        let refused = ControlReply.error("unknown model 'x'")
        #expect(try ControlReply.decode(frames: refused.frames, for: request) == refused)
        #expect(throws: WireError.self) { try ControlReply.decode(frames: reply.frames, for: .status) }
    }

    @Test(arguments: [
        ("[1]", "the request must be a JSON object such as {\"cmd\":\"status\"}"),
        (#"{"cmd": 1}"#, "missing \"cmd\" (one of status, predict, checkpoint, pause, resume, snapshot)"),
        (#"{"cmd": "reboot"}"#, "unknown cmd 'reboot' (one of status, predict, checkpoint, pause, resume, snapshot)"),
        (#"{"cmd": "pause"}"#, "missing \"model\""), (#"{"cmd": "snapshot"}"#, "missing \"model\""),
        (#"{"cmd": "predict", "model": "m"}"#, "missing x"),
        (#"{"cmd": "predict", "model": "m", "x": [[1], [1, 2]]}"#, "ragged batch: x[1] has 2 values, x[0] has 1"),
    ]) func badControlRequestsAreNamed(text: String, reason: String) {
        do {
            _ = try ControlRequest.decode(Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch { #expect("\(error)" == reason) }
    }
}
