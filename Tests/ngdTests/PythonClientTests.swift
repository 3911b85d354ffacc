import Foundation
import NGDDaemon
import NGDSystem
import NGDTestSupport
import NGDWire
import Testing
import ZeroMQ

/// The README's Python producer and subscriber (examples/*.py, pyzmq) against a real daemon.
@Suite(.serialized) struct PythonClientTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func python(_ args: [String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        return (p, out)
    }

    @Test func readmeProducerAndSubscriberSeeTheLossFall() throws {
        let (check, checkOut) = try python(["-c", "import zmq"])
        check.waitUntilExit()
        let why = String(decoding: checkOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try #require(check.terminationStatus == 0, "pyzmq is missing (scripts/test installs it): \(why)")

        let d = try DaemonProcess(["--layers", "4,16,2"])
        let (sub, subOut) = try python([
            root.appendingPathComponent("examples/subscriber.py").path, d.output, "4000", "100",
        ])
        let subText = Locked("")
        subText.collect(from: subOut.fileHandleForReading)
        // The subscriber must be subscribed before anything is published, or it sees only the
        // end of the fall (a loaded CI machine took over a second just to start Python).
        let started = Date().addingTimeInterval(60)
        while !subText.value.contains("listening on"), Date() < started { Thread.sleep(forTimeInterval: 0.05) }
        Thread.sleep(forTimeInterval: 0.5)
        let (producer, producerOut) = try python([
            root.appendingPathComponent("examples/producer.py").path, d.input, "5000",
        ])
        producer.waitUntilExit()
        #expect(
            producer.terminationStatus == 0,
            "\(String(decoding: producerOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        let deadline = Date().addingTimeInterval(60)
        while sub.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if sub.isRunning { sub.terminate() }
        sub.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.3)  // the collector reads the last lines
        let text = subText.value
        #expect(sub.terminationStatus == 0, "\(text)")
        // Lines every 100 samples: "default  seq    100  mse 1.234e-01  loss_ema 5.678e-02".
        let emas = text.split(separator: "\n").compactMap { line -> Double? in
            guard let r = line.range(of: "loss_ema ") else { return nil }
            return Double(line[r.upperBound...].trimmingCharacters(in: .whitespaces))
        }
        #expect(emas.count >= 6, "\(text)")
        if let first = emas.first, let last = emas.last {
            #expect(last < 0.5 * first, "loss_ema \(first) → \(last)\n\(text)")
        }
        #expect(d.terminate().status == 0)
    }

    /// Certificates cross both ways: pyzmq (zmq.auth) reads what `ngd keygen` writes, and ngd
    /// reads what pyzmq's create_certificates writes, with the same keys on both sides.
    @Test func curveCertificatesCrossBetweenNgdAndPyzmq() throws {
        let dir = temporaryDirectory("certs")
        let (status, text) = try runProcess(ngdExecutable(), ["keygen", "daemon", "--dir", dir])
        #expect(status == 0, "\(text)")
        let script = """
            import sys, zmq.auth
            d = sys.argv[1]
            pub, sec = zmq.auth.load_certificate(d + "/daemon.key_secret")
            assert zmq.auth.load_certificate(d + "/daemon.key") == (pub, None)
            assert zmq.curve_public(sec) == pub
            print(pub.decode())
            zmq.auth.create_certificates(d, "producer")
            """
        let (p, out) = try python(["-c", script, dir])
        p.waitUntilExit()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try #require(p.terminationStatus == 0, "\(printed)")
        #expect(
            printed.trimmingCharacters(in: .whitespacesAndNewlines)
                == (try CurveCertificate.read(path: dir + "/daemon.key")).publicKey)
        let producer = try CurveCertificate.read(path: dir + "/producer.key_secret")
        #expect(try CurveCertificate.read(path: dir + "/producer.key").publicKey == producer.publicKey)
        #expect(try ZMQCurve.publicKey(forSecret: try #require(producer.secretKey)) == producer.publicKey)
    }

    /// `[daemon.curve]` with pyzmq clients (Tests/Python/curve_access.py): only the admin's key
    /// gets control replies, only the producer's key changes `seq`, only the subscriber's key
    /// reads; plain text and unlisted keys get nothing, and each refused CURVE handshake counts
    /// in `auth_failures` (plain-text peers fail before authentication and are not counted);
    /// a key copied into the producers' directory is admitted after SIGHUP, without a restart.
    @Test func curveAccess() throws {
        let (p, out) = try python([root.appendingPathComponent("Tests/Python/curve_access.py").path, ngdExecutable()])
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try #require(p.terminationStatus == 0, "\(text)")
        let r = try JSONValue.parse(Array((text.split(separator: "\n").last ?? "").utf8))
        let expected: [(String, JSONValue)] = [
            ("admin status", .bool(true)), ("plain status", .bool(false)), ("producer status", .bool(false)),
            ("unlisted feed changes seq", .bool(false)), ("producer feed changes seq", .bool(true)),
            ("subscriber reads", .bool(true)), ("stranger reads", .bool(false)), ("producer reads", .bool(false)),
            ("newcomer feeds before SIGHUP", .bool(false)), ("newcomer feeds after SIGHUP", .bool(true)),
            ("reload logged", .bool(true)), ("alive after SIGHUP", .bool(true)),
        ]
        for (key, value) in expected { #expect(r[key] == value, "\(key): \(text)") }
        #expect(r["auth_failures"]?.int == 5, "\(text)")
    }

    /// A `[daemon.curve]` whose directory is missing stops the start before anything is bound,
    /// naming the setting.
    @Test func curveWithAMissingDirectoryRefusesToStart() throws {
        let dir = temporaryDirectory("curve")
        _ = try runProcess(ngdExecutable(), ["keygen", "daemon", "--dir", dir])
        let d = try DaemonProcess(
            [
                "--layers", "2,1", "--curve-server-key", dir + "/daemon.key_secret", "--curve-producers", dir,
                "--curve-subscribers", dir + "/missing", "--curve-admins", dir,
            ], expectStart: false)
        #expect(d.process.terminationStatus != 0)
        #expect(
            d.log.contains("daemon.curve.subscribers") && d.log.contains("missing") && !d.log.contains("serving"),
            "\(d.log)")
    }
}
