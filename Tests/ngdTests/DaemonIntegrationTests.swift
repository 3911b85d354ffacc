import Foundation
import Glibc
import NGDMath
import NGDTestSupport
import NGDWire
import Testing
import ZeroMQ

@testable import NGDDaemon

/// Drives a real `ngd serve` over loopback TCP with real ZeroMQ sockets.
@Suite(.serialized) struct DaemonIntegrationTests {
    let probe: [[Double]] = [[0.1, 0.2, 0.3, 0.4], [-1, 0.5, 0, 1], [0, 0, 0, 0]]

    func seq(_ c: TestClient, _ model: String) throws -> Int {
        try c.request(#"{"cmd":"status"}"#)["models"]?[model]?["seq"]?.int ?? -1
    }

    func writeConfig(_ text: String) -> String {
        let path = temporaryDirectory("config") + "/ngd.toml"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        return path
    }

    @Test func learnsFromJSONSamplesAndNGD1Batches() throws {
        let config = writeConfig(
            """
            [models.j]
            layers = [4, 16, 2]
            [models.b]
            layers = [4, 16, 2]
            batch = 16
            """)
        let d = try DaemonProcess(["--config", config])
        let c = try TestClient(d)
        try c.sync(topic: "j", inputWidth: 4)
        var teacher = LinearTeacher()
        // JSON, one sample per message.
        var mse: [Double] = []
        for i in 0..<2000 {
            let (x, y) = teacher.sample()
            try c.send("j", json: teacher.json(x, y, id: i))
            if let l = try c.nextJSON("loss.j"), let m = l["mse"]?.double { mse.append(m) }
        }
        #expect(mse.count == 2000)
        let first = mse.prefix(200).reduce(0, +) / 200
        let last = mse.suffix(200).reduce(0, +) / 200
        #expect(last < 0.1 * first, "JSON: mse \(first) → \(last)")
        #expect(try seq(c, "j") == 2000)
        // NGD1, 16 samples per message, float64 then float32.
        var batchMSE: [Double] = []
        for i in 0..<150 {
            var x: [Double] = []
            var y: [Double] = []
            for _ in 0..<16 {
                let (a, b) = teacher.sample()
                x += a
                y += b
            }
            let dtype: NGD1.DType = i % 2 == 0 ? .float64 : .float32
            try c.send(
                "b",
                NGD1.encode(dtype: dtype, count: 16, inputWidth: 4, outputWidth: 2, id: UInt64(1000 + i), x: x, y: y))
            let p = try #require(try c.next("prediction.b"))
            let decoded = try NGD1.decodePrediction(p.payload)
            #expect(
                decoded.count == 16 && decoded.outputWidth == 2 && decoded.id == UInt64(1000 + i)
                    && p.payload[4] == dtype.rawValue)
            let l = try #require(try c.nextJSON("loss.b"))
            #expect(l["n"]?.int == 16 && l["seq"]?.int == 16 * (i + 1) && l["id"]?.int == 1000 + i)
            batchMSE.append(l["mse"]?.double ?? .nan)
        }
        let bf = batchMSE.prefix(20).reduce(0, +) / 20
        let bl = batchMSE.suffix(20).reduce(0, +) / 20
        #expect(bl < 0.1 * bf, "NGD1: mse \(bf) → \(bl)")
        #expect(try seq(c, "b") == 2400)
        #expect(d.terminate().status == 0)
    }

    @Test func predictOnlyMessagesArePredictedButNotLearned() throws {
        let d = try DaemonProcess(["--layers", "4,8,2"])
        let c = try TestClient(syncedTo: d)
        let expected = try c.predict("default", probe)
        try c.send("default", json: #"{"x": [[0.1, 0.2, 0.3, 0.4], [-1, 0.5, 0, 1]], "id": "p1"}"#)
        let p = try #require(try c.nextJSON("prediction.default"))
        #expect(p["id"]?.text == "p1" && p["seq"]?.int == 0 && p["model"]?.text == "default")
        let rows = try #require(p["y_hat"]?.array)
        #expect(rows.count == 2)
        for (r, row) in rows.enumerated() {
            guard case .array(let v) = row else { continue }
            #expect(v.map { $0.double! } == expected[r])  // bit-identical through JSON
        }
        try c.send(
            "default", NGD1.encode(dtype: .float64, count: 1, inputWidth: 4, outputWidth: 0, id: 5, x: probe[2], y: nil)
        )
        let q = try NGD1.decodePrediction(try #require(try c.next("prediction.default")).payload)
        #expect(q.values == expected[2] && q.id == 5)
        // No loss message for either, and nothing learned.
        #expect(try c.next("loss.", timeout: 0.5) == nil)
        #expect(try seq(c, "default") == 0)
        #expect(try c.predict("default", probe) == expected)
        #expect(d.terminate().status == 0)
    }

    @Test func everyClassOfBadInputGetsItsErrorAndChangesNothing() throws {
        let d = try DaemonProcess(["--layers", "4,8,2", "--max-message-size", "4096"])
        let c = try TestClient(syncedTo: d)
        var teacher = LinearTeacher()
        try c.feed("default", 400, &teacher)  // past NGD's warm-up, so the model is really learning
        while try c.next("", timeout: 0.3) != nil {}
        let seq0 = try seq(c, "default")
        let before = try c.predict("default", probe)
        let good = NGD1.encode(
            dtype: .float64, count: 2, inputWidth: 4, outputWidth: 2, id: 1, x: [1, 2, 3, 4, 5, 6, 7, 8],
            y: [1, 2, 3, 4])
        var badNaN = good
        badNaN.replaceSubrange(28..<36, with: withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { Array($0) })
        let cases: [(frames: [[UInt8]], topic: String, reason: String)] = [
            ([Array("nosuch".utf8), Array(#"{"x":[1,2,3,4]}"#.utf8)], "error.", "unknown topic 'nosuch'"),
            ([Array("default".utf8)], "error.default", "expected 2 frames [topic, payload], got 1"),
            (
                [Array("default".utf8), Array("{}".utf8), Array("{}".utf8)], "error.default",
                "expected 2 frames [topic, payload], got 3"
            ),
            ([Array("default".utf8), Array(#"{"x": [1, 2,"#.utf8)], "error.default", "malformed JSON"),
            ([Array("default".utf8), Array("NGD2 hello".utf8)], "error.default", "payload is neither JSON"),
            (
                [Array("default".utf8), Array(good.dropLast(3))], "error.default",
                "NGD1 payload length mismatch: the header implies 124 bytes, the payload has 121"
            ),
            (
                [Array("default".utf8), Array(#"{"x": [1, 2, 3], "y": [1, 2]}"#.utf8)], "error.default",
                "x has 3 values per sample; model default expects 4"
            ),
            (
                [Array("default".utf8), Array(#"{"x": [1, 2, 3, 4], "y": [1, 2, 3]}"#.utf8)], "error.default",
                "y has 3 values per sample; model default expects 2"
            ),
            (
                [Array("default".utf8), Array(#"{"x": [[1, 2, 3, 4], [1, 2, 3]]}"#.utf8)], "error.default",
                "ragged batch: x[1] has 3 values, x[0] has 4"
            ),
            (
                [Array("default".utf8), Array(#"{"x": [1, 2, 3, 1e999], "y": [1, 2]}"#.utf8)], "error.default",
                "non-finite value in x (sample 0, index 3)"
            ),
            ([Array("default".utf8), badNaN], "error.default", "non-finite value in x (sample 0, index 0)"),
            ([Array("default".utf8), Array(#"{"y": [1, 2], "id": 9}"#.utf8)], "error.default", "missing x"),
        ]
        for (frames, topic, reason) in cases {
            try c.client.producer.send(frames: frames)
            let e = try #require(try c.next("error."), "no error for \(reason)")
            #expect(e.topic == topic)
            let body = try JSONValue.parse(e.payload)
            #expect(body["reason"]?.text?.contains(reason) == true, "\(body)")
            #expect(try c.predict("default", probe) == before, "predictions changed after: \(reason)")
            #expect(try seq(c, "default") == seq0)
        }
        // Over --max-message-size: libzmq drops that producer's connection; the daemon and other
        // producers carry on.
        let big = try ZMQSocket(c.client.context, type: .pub, lingerMilliseconds: 0)
        try big.connect(d.input)
        Thread.sleep(forTimeInterval: 0.3)
        let huge = "{\"x\": [" + Array(repeating: "1.0", count: 2000).joined(separator: ",") + "]}"
        try big.send(["default", huge])
        #expect(try c.next("", timeout: 0.5) == nil)
        #expect(try c.predict("default", probe) == before)
        try c.sync(topic: "default", inputWidth: 4)
        #expect(try seq(c, "default") == seq0)
        let status = try c.request(#"{"cmd":"status"}"#)
        #expect(status["models"]?["default"]?["rejected"]?.int == cases.count - 1)  // the unknown topic names no model
        #expect(d.terminate().status == 0)
    }

    @Test func twoModelsOnTwoTopicsLearnIndependently() throws {
        let config = writeConfig(
            """
            [models.a]
            layers = [4, 8, 2]
            [models.b]
            topic = "stream-b"
            layers = [4, 8, 2]
            optimizer = "sgd"
            seed = 7
            """)
        let d = try DaemonProcess(["--config", config])
        let c = try TestClient(d)
        try c.sync(topic: "a", inputWidth: 4)
        let a0 = try c.predict("a", probe)
        let b0 = try c.predict("b", probe)
        var teacher = LinearTeacher()
        try c.feed("a", 600, &teacher)
        #expect(try seq(c, "a") == 600 && seq(c, "b") == 0)
        #expect(try c.predict("a", probe) != a0)
        #expect(try c.predict("b", probe) == b0)
        let (x, y) = teacher.sample()
        try c.send("stream-b", json: teacher.json(x, y, id: 1))
        let l = try #require(try c.nextJSON("loss.b"))
        #expect(l["model"]?.text == "b" && l["seq"]?.int == 1)
        #expect(try c.predict("b", probe) != b0)
        #expect(d.terminate().status == 0)
    }

    @Test func controlCommands() throws {
        let d = try DaemonProcess(["--layers", "4,8,2", "--optimizer", "sgd", "--learning-rate", "0.05"])
        let c = try TestClient(syncedTo: d)
        let s = try c.request(#"{"cmd":"status"}"#)
        let m = try #require(s["models"]?["default"])
        #expect(s["uptime_s"]?.double != nil)
        #expect(m["layers"] == .array([.number(4, text: ""), .number(8, text: ""), .number(2, text: "")]))
        #expect(m["activation"]?.text == "tanh" && m["optimizer"]?.text == "sgd" && m["paused"] == .bool(false))
        for key in ["seq", "loss_ema", "damping", "samples_per_s", "checkpoint_age_s"] {
            #expect(m[key] != nil, "\(key)")
        }
        let ck = try c.request(#"{"cmd":"checkpoint"}"#)
        #expect(ck["ok"] == .bool(true))
        let path = try #require(ck["paths"]?.array?.first?.text)
        #expect(path == d.stateDir + "/default.ngdckpt" && FileManager.default.fileExists(atPath: path))
        // Paused: predicted and scored, not learned.
        #expect(try c.request(#"{"cmd":"pause","model":"default"}"#)["paused"] == .bool(true))
        let p0 = try c.predict("default", probe)
        try c.send("default", json: #"{"x": [1, 2, 3, 4], "y": [1, 1]}"#)
        let l = try #require(try c.nextJSON("loss.default"))
        #expect(l["seq"]?.int == 0 && l["mse"]?.double != nil)
        #expect(try c.predict("default", probe) == p0 && seq(c, "default") == 0)
        #expect(try c.request(#"{"cmd":"status"}"#)["models"]?["default"]?["paused"] == .bool(true))
        #expect(try c.request(#"{"cmd":"resume","model":"default"}"#)["paused"] == .bool(false))
        try c.send("default", json: #"{"x": [1, 2, 3, 4], "y": [1, 1]}"#)
        #expect(try c.nextJSON("loss.default")?["seq"]?.int == 1)
        #expect(try c.predict("default", probe) != p0)
        // Bad requests always get an error reply, and the socket keeps answering.
        let bad = [
            (#"{"cmd":"frobnicate"}"#, "unknown cmd 'frobnicate'"), (#"{"cmd": "#, "malformed JSON"),
            (#"{"nocmd":1}"#, "missing \"cmd\""), (#"[1]"#, "must be a JSON object"),
            (#"{"cmd":"pause","model":"zzz"}"#, "unknown model 'zzz'"), (#"{"cmd":"predict"}"#, "missing \"model\""),
            (#"{"cmd":"predict","model":"default","x":[1,2]}"#, "x has 2 values per sample; model default expects 4"),
            (#"{"cmd":"predict","model":"default"}"#, "missing x"),
        ]
        for (req, reason) in bad { #expect(try c.request(req)["error"]?.text?.contains(reason) == true, "\(req)") }
        let twoFrames = try c.client.control.exchange(frames: [Array("{}".utf8), Array("{}".utf8)])
        #expect(try JSONValue.parse(twoFrames)["error"]?.text?.contains("2 frames") == true)
        #expect(try c.predict("default", [probe[0]]).count == 1)
        #expect(d.terminate().status == 0)
    }

    /// The control socket answers after anything a peer can do to it: a megabyte of random
    /// bytes on its TCP port (with the REP socket of before, the next requests went
    /// unanswered), DEALER peers that leave before their reply, and a DEALER whose request
    /// has no delimiter and three frames (it gets an error reply of its own).
    @Test func controlSurvivesGarbageAndVanishingPeers() throws {
        let d = try DaemonProcess(["--layers", "2,1"])
        let c = try TestClient(d)
        #expect(try c.request(#"{"cmd":"status"}"#)["uptime_s"] != nil)
        let port = try #require(d.control.split(separator: ":").last.flatMap { UInt16($0) })
        var rng = RandomSource(seed: 5)
        for _ in 0..<3 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            #expect(connected == 0)
            let garbage = (0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = garbage.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(fd)
        }
        #expect(try c.request(#"{"cmd":"status"}"#)["uptime_s"] != nil, "no reply after garbage")
        let ctx = try ZMQContext()
        for _ in 0..<20 {
            let gone = try ZMQSocket(ctx, type: .dealer, lingerMilliseconds: 0)
            try gone.connect(d.control)
            try gone.send([[], Array(#"{"cmd":"status"}"#.utf8)])
            gone.close()
        }
        #expect(try c.request(#"{"cmd":"status"}"#)["uptime_s"] != nil, "no reply after vanishing peers")
        let dealer = try ZMQSocket(ctx, type: .dealer, lingerMilliseconds: 0)
        try dealer.connect(d.control)
        try dealer.setReceiveTimeout(milliseconds: 10_000)
        try dealer.send([Array("a".utf8), Array("b".utf8), Array("c".utf8)])
        let reply = try #require(try dealer.receive())
        #expect(reply.count == 1 && String(decoding: reply[0], as: UTF8.self).contains("got 3 frames"), "\(reply)")
        dealer.close()
        #expect(try c.request(#"{"cmd":"status"}"#)["uptime_s"] != nil)
        #expect(d.terminate().status == 0)
    }

    @Test func sigtermCheckpointsAndARestartContinuesIdentically() throws {
        let d = try DaemonProcess(["--layers", "4,8,2", "--checkpoint-interval", "0"])
        let c = try TestClient(syncedTo: d)
        var teacher = LinearTeacher()
        try c.feed("default", 700, &teacher)
        let s0 = try seq(c, "default")
        let p0 = try c.predict("default", probe)
        #expect(s0 == 700)
        let (status, seconds) = d.terminate()
        #expect(status == 0 && seconds < 5, "exit \(status) after \(seconds) s")
        #expect(d.log.contains("checkpoint saved") && d.log.contains("reason=shutdown"))

        let e = try DaemonProcess(["--layers", "4,8,2"], stateDir: d.stateDir)
        #expect(e.log.contains("restored model"))
        let c2 = try TestClient(e)
        #expect(try c2.predict("default", probe) == p0)  // bit-identical
        #expect(try seq(c2, "default") == s0)
        try c2.sync(topic: "default", inputWidth: 4)
        let (x, y) = teacher.sample()
        try c2.send("default", json: teacher.json(x, y, id: 1))
        #expect(try c2.nextJSON("loss.default")?["seq"]?.int == s0 + 1)
        #expect(e.terminate().status == 0)
    }

    @Test func anArchitectureMismatchIsRefusedAndTheCheckpointKept() throws {
        let d = try DaemonProcess(["--layers", "4,8,2"])
        #expect(d.terminate().status == 0)
        let path = d.stateDir + "/default.ngdckpt"
        let saved = try Data(contentsOf: URL(fileURLWithPath: path))
        let e = try DaemonProcess(["--layers", "4,9,2"], stateDir: d.stateDir, expectStart: false)
        #expect(e.process.terminationStatus != 0)
        let savedArchitecture = try Architecture(
            sizes: [4, 8, 2], activations: [.tanh, .identity], bias: true, standardizesInputs: true
        ).summary
        let wanted = try Architecture(
            sizes: [4, 9, 2], activations: [.tanh, .identity], bias: true, standardizesInputs: true
        ).summary
        #expect(
            e.log.contains("was saved with architecture \(savedArchitecture) but the configuration says \(wanted)"),
            "\(e.log)")
        #expect(!e.log.contains("serving"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == saved)
        let f = try DaemonProcess(
            ["--layers", "4,8,2", "--optimizer", "adam"], stateDir: d.stateDir, expectStart: false)
        #expect(f.process.terminationStatus != 0 && f.log.contains("optimizer ngd"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == saved)
    }

    @Test func invalidConfigurationStopsBeforeBinding() throws {
        let cases: [([String], String)] = [
            (["--layers", "4,x,2"], "--layers"), (["--layers", "4"], "models.default.layers"),
            (["--layers", "4,2", "--batch", "0"], "models.default.batch"),
            (["--layers", "4,2", "--learning-rate=-1"], "models.default.learning_rate"),
            (["--layers", "4,2", "--input", "127.0.0.1:5"], "daemon.input"),
            (["--layers", "4,2", "--max-message-size", "10"], "daemon.max_message_size"),
            ([], "no model is configured"),
        ]
        for (args, key) in cases {
            let d = try DaemonProcess(args, expectStart: false)
            #expect(d.process.terminationStatus != 0)
            #expect(d.log.contains(key), "\(args): \(d.log)")
            #expect(!d.log.contains("serving"))
        }
    }
}
