import Foundation
import NGDClient
import NGDDaemon
import NGDTestSupport
import NGDWire
import Testing
import ZeroMQ

@testable import ngd

/// `ngd feed`'s sources (CSV, NPY, teacher) and its run against a real daemon.
@Suite struct FeedTests {
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = temporaryDirectory("feed") + "/" + name
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    func npy(_ dtype: String, shape: String, values: [Double], order: String = "False") -> [UInt8] {
        var header = "{'descr': '\(dtype)', 'fortran_order': \(order), 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var b: [UInt8] =
            [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 255), UInt8(header.utf8.count >> 8)]
        b += Array(header.utf8)
        for v in values {
            if dtype == "<f8" {
                withUnsafeBytes(of: v.bitPattern.littleEndian) { b += $0 }
            } else {
                withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { b += $0 }
            }
        }
        return b
    }

    @Test func csvWithHeaderSplitsColumns() throws {
        let path = write("a.csv", Array("x1,x2,y\n1, 2, 3\n# comment\n4,5,6\n\n".utf8))
        let s = try SampleSource.csv(path: path, inputs: 2)
        #expect(s.inputWidth == 2 && s.outputWidth == 1 && s.count == 2)
        #expect(Array(s.sample(1).x) == [4, 5] && Array(s.sample(1).y) == [6])
        let p = try SampleSource.csv(path: path, inputs: 3)
        #expect(p.outputWidth == 0)  // predict-only
    }

    @Test(arguments: [
        ("1,2,3\n4,5\n", 2, "line 2: 2 columns, the first row has 3"),
        ("1,2,3\n4,x,6\n", 2, "line 2: not a number in x"),
        ("1,2,3\n", 4, "--inputs 4 must be between 1 and the 3 columns"), ("1,2,nan\n", 2, "line 1: non-finite value"),
        ("", 1, "holds no samples"),
    ]) func badCSVFilesAreNamed(text: String, inputs: Int, message: String) {
        let path = write("b.csv", Array(text.utf8))
        #expect { try SampleSource.csv(path: path, inputs: inputs) } throws: { "\($0)".contains(message) }
    }

    @Test func npyFloat64AndFloat32() throws {
        let v: [Double] = [1, 2, 3, 4, 5, 6]
        let a = try SampleSource.npy(path: write("a.npy", npy("<f8", shape: "(2, 3)", values: v)), inputs: 2)
        #expect(a.rows == v && a.count == 2 && a.outputWidth == 1)
        let b = try SampleSource.npy(
            path: write("b.npy", npy("<f4", shape: "(3, 2)", values: [0.1, 2, 3, 4, 5, 6])), inputs: 1)
        #expect(b.rows[0] == Double(Float(0.1)) && b.count == 3)
    }

    @Test func badNPYFilesAreNamed() {
        let v: [Double] = [1, 2, 3, 4]
        let cases: [([UInt8], String)] = [
            (Array("not numpy at all".utf8), "is not a .npy file"),
            (npy("<i8", shape: "(2, 2)", values: v), "dtype must be little-endian float64 or float32"),
            (npy("<f8", shape: "(4,)", values: v), "the array must be 2-D"),
            (npy("<f8", shape: "(2, 2)", values: v, order: "True"), "Fortran-order"),
            (Array(npy("<f8", shape: "(2, 2)", values: v).dropLast(8)), "24 data bytes, shape [2, 2] needs 32"),
            (npy("<f8", shape: "(2, 2)", values: [1, .infinity, 3, 4]), "non-finite"),
        ]
        for (bytes, message) in cases {
            let path = write("c.npy", bytes)
            #expect { try SampleSource.npy(path: path, inputs: 1) } throws: { "\($0)".contains(message) }
        }
    }

    @Test(arguments: [
        [String](), ["--teacher", "A", "--csv", "x.csv"], ["--teacher", "D"], ["--csv", "x.csv"],
        ["--teacher", "A", "--batch", "0"], ["--teacher", "A", "--rate=-1"], ["--teacher", "A", "--count", "0"],
    ]) func feedRejectsBadArguments(arguments: [String]) {
        #expect(throws: (any Error).self) { try FeedCommand.parse(arguments) }
    }

    @Test func feedStreamsACSVToADaemonInNGD1Batches() throws {
        var text = ""
        for i in 0..<50 { text += "\(Double(i) / 50),\(Double(i % 7) / 7),0.5\n" }
        let path = write("feed.csv", Array(text.utf8))
        let d = try DaemonProcess(["--layers", "2,4,1"])
        let c = try TestClient(d)
        let (status, output) = try runProcess(
            ngdExecutable(),
            [
                "feed", "--to", d.input, "--csv", path, "--inputs", "2", "--format", "ngd1", "--dtype", "f32",
                "--batch", "8", "--rate", "0", "--connect-delay", "1",
            ])
        #expect(status == 0 && output.contains("sent 50 samples in 7 messages"), "\(output)")
        var seq = -1
        for _ in 0..<50 where seq != 50 {
            seq = try c.request(#"{"cmd":"status"}"#)["models"]?["default"]?["seq"]?.int ?? -1
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(seq == 50)  // 6 messages of 8 and one of 2
        #expect(d.terminate().status == 0)
    }

    /// `ngd feed`, `ngd tail` and the Swift control client against a daemon with `[daemon.curve]`:
    /// each works with a key listed for its socket; the subscriber's key does not feed, plain text
    /// gets no control reply, and a public certificate given as `--curve-key` is refused by name.
    @Test func feedTailAndTheControlClientSpeakCurve() throws {
        let dir = temporaryDirectory("curve")
        for (name, sub) in [
            ("daemon", "server"), ("producer", "producers"), ("subscriber", "subscribers"), ("admin", "admins"),
        ] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
            #expect(try runProcess(ngdExecutable(), ["keygen", name, "--dir", "\(dir)/\(sub)"]).status == 0)
        }
        let d = try DaemonProcess([
            "--layers", "20,20", "--input-pattern", "pull", "--curve-server-key", "\(dir)/server/daemon.key_secret",
            "--curve-producers", "\(dir)/producers", "--curve-subscribers", "\(dir)/subscribers", "--curve-admins",
            "\(dir)/admins",
        ])
        let server = try CurveCertificate.read(path: "\(dir)/server/daemon.key").publicKey
        let admin = try CurveCertificate.read(path: "\(dir)/admins/admin.key_secret")
        let ctx = try ZMQContext()
        defer { ctx.terminate() }
        let control = try ControlClient(
            context: ctx, endpoint: d.control, timeout: .seconds(5),
            curve: CurveClientKeys(
                serverKey: server, publicKey: admin.publicKey, secretKey: try #require(admin.secretKey)))
        defer { control.close() }
        func seq() throws -> Int { try control.status().models.first?.stats.seq ?? -1 }
        #expect(try seq() == 0)

        let plain = try ControlClient(context: ctx, endpoint: d.control, timeout: .milliseconds(500))
        defer { plain.close() }
        #expect(throws: ClientError.self) { try plain.status() }

        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: ngdExecutable())
        tail.arguments = [
            "tail", "--from", d.output, "--raw", "--duration", "8", "--curve-server-key", "\(dir)/server/daemon.key",
            "--curve-key", "\(dir)/subscribers/subscriber.key_secret",
        ]
        let tailOut = Pipe()
        tail.standardOutput = tailOut
        tail.standardError = FileHandle.nullDevice
        try tail.run()
        Thread.sleep(forTimeInterval: 1)
        func feed(_ key: String) throws -> (status: Int32, output: String) {
            try runProcess(
                ngdExecutable(),
                [
                    "feed", "--to", d.input, "--pattern", "push", "--teacher", "A", "--count", "100", "--batch", "10",
                    "--rate", "0", "--format", "ngd1", "--connect-delay", "0.5", "--send-timeout", "2",
                    "--curve-server-key", "\(dir)/server/daemon.key", "--curve-key", key,
                ])
        }
        // The handshake is refused, which libzmq never retries: feed says so and fails, and
        // nothing is learned.
        let stranger = try feed("\(dir)/subscribers/subscriber.key_secret")
        #expect(
            stranger.status != 0 && stranger.output.contains("refused the producer's CURVE key (ZAP status 400)"),
            "\(stranger.output)")
        // So does a subscriber whose key is not in the subscribers directory.
        let wrongTail = try runProcess(
            ngdExecutable(),
            [
                "tail", "--from", d.output, "--duration", "10", "--curve-server-key", "\(dir)/server/daemon.key",
                "--curve-key", "\(dir)/producers/producer.key_secret",
            ])
        #expect(
            wrongTail.status != 0 && wrongTail.output.contains("refused the subscriber's CURVE key"),
            "\(wrongTail.output)")
        let refused = try feed("\(dir)/producers/producer.key")
        #expect(refused.status != 0 && refused.output.contains("NAME.key_secret"), "\(refused.output)")
        #expect(try seq() == 0)
        let fed = try feed("\(dir)/producers/producer.key_secret")
        #expect(fed.status == 0, "\(fed.output)")
        var n = 0
        for _ in 0..<100 where n != 100 {
            n = try seq()
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(n == 100)
        tail.waitUntilExit()
        let text = String(decoding: tailOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("loss.default"), "\(text)")
        // The subscriber's key was refused on the input socket (once per connection attempt).
        guard case .status(_, _, let failures) = try control.send(.status) else { throw HarnessError("no status") }
        #expect(failures >= 1)
        #expect(d.terminate().status == 0)
    }
}
