import Foundation
import NGDClient
import NGDDaemon
import NGDTestSupport
import NGDWire
import Testing
import ZeroMQ

@testable import ngd

/// `ngd proxy` between one producer, several daemons and one subscriber: sharding by model,
/// replicas that stay bit-identical, and the steerable control commands.
@Suite(.serialized) struct ProxyTests {
    /// A daemon behind `proxy` hosting `models` (name → seed), all 3 inputs and 2 outputs.
    func daemon(
        _ proxy: ChildProxy, models: [(String, Int)], sequenced: Bool = false, extra: String = "",
        stateDir: String? = nil
    ) throws -> DaemonProcess {
        var toml = "[daemon]\ninput_mode = \"connect\"\nsubscribe = \"models\"\noutput_mode = \"connect\"\n" + extra
        for (name, seed) in models {
            toml += "[models.\(name)]\nlayers = [3, 8, 2]\nseed = \(seed)\nsequenced_ids = \(sequenced)\n"
        }
        let path = temporaryDirectory("proxy-config") + "/ngd.toml"
        try toml.write(toFile: path, atomically: true, encoding: .utf8)
        return try DaemonProcess(
            [
                "--config", path, "--input", proxy.endpoints["to-daemons"]!, "--output",
                proxy.endpoints["from-daemons"]!,
            ],
            stateDir: stateDir)
    }

    /// Sends predict-only probes to each model through the proxy until its prediction comes back.
    func sync(_ producer: Producer, _ subscriber: Subscriber, models: [String]) throws {
        var pending = Set(models)
        let deadline = Date().addingTimeInterval(30)
        while !pending.isEmpty, Date() < deadline {
            for m in pending {
                try producer.send(
                    topic: m, SampleMessage(x: [0, 0, 0], y: nil, count: 1, id: .json(.string("sync-\(m)"))))
            }
            let until = Date().addingTimeInterval(0.1)
            while Date() < until, let message = try subscriber.next(timeout: .milliseconds(20)) {
                if case .prediction(let p) = message { pending.remove(p.model) }
            }
        }
        try #require(pending.isEmpty, "no prediction came back through the proxy for \(pending.sorted())")
        Thread.sleep(forTimeInterval: 0.1)
        try subscriber.drain()
    }

    /// Sends predict-only probes to model `m` (string ids, outside any id sequence) until one is
    /// answered by `answers` replicas; returns the answers to the last probe.
    func probe(_ producer: Producer, _ subscriber: Subscriber, answers: Int, tag: String) throws -> Int {
        var answered = 0
        for attempt in 0..<100 where answered < answers {
            let id = MessageID.json(.string("\(tag)\(attempt)"))
            try producer.send(topic: "m", SampleMessage(x: [0, 0, 0], y: nil, count: 1, id: id))
            answered = 0
            let until = Date().addingTimeInterval(0.2)
            while Date() < until, let message = try subscriber.next(timeout: .milliseconds(20)) {
                if case .prediction(let p) = message, p.id == id { answered += 1 }
            }
        }
        return answered
    }

    /// A REQ socket on the proxy's control endpoint (5 s receive timeout).
    func control(of proxy: ChildProxy, _ ctx: ZMQContext) throws -> ZMQSocket {
        let s = try ZMQSocket(ctx, type: .req, lingerMilliseconds: 0)
        try s.setReceiveTimeout(milliseconds: 5000)
        try s.connect(proxy.endpoints["control"]!)
        return s
    }

    /// The first (only) model's status.
    func status(_ c: ControlClient) throws -> ModelStatus { try #require(try c.status().models.first) }

    /// Polls `c` until its model's seq is `n` (at most 5 s); returns the last seq seen.
    func waitForSeq(_ c: ControlClient, _ n: Int) throws -> Int {
        var seq = -1
        for _ in 0..<250 where seq != n {
            seq = try status(c).stats.seq
            Thread.sleep(forTimeInterval: 0.02)
        }
        return seq
    }

    /// A batch of `k` samples of model `seed`'s own linear teacher, as one NGD1 message.
    func batch(_ k: Int, seed: Int, id: UInt64) -> SampleMessage {
        var rng = SeededGenerator(seed: UInt64(seed) &* 7919 &+ id)
        var x: [Double] = []
        var y: [Double] = []
        for _ in 0..<k {
            let v = (0..<3).map { _ in Double.random(in: -1...1, using: &rng) }
            x += v
            y += [v[0] - Double(seed) * v[1], v[2] + 0.5 * Double(seed)]
        }
        var m = SampleMessage(x: x, y: y, count: k, id: .u64(id), encoding: .ngd1(.float64))
        m.isBatch = true
        return m
    }

    let probe: [[Double]] = [[0.3, -0.2, 0.9], [-0.7, 0.1, 0.4]]

    @Test func fiveModelsOnThreeDaemonsEachLearnOnlyTheirOwnStream() throws {
        let proxy = try ChildProxy(executable: ngdExecutable())
        let daemons = [
            try daemon(proxy, models: [("a", 1), ("b", 2)]), try daemon(proxy, models: [("c", 3), ("d", 4)]),
            try daemon(proxy, models: [("e", 5)]),
        ]
        let host = ["a": 0, "b": 0, "c": 1, "d": 1, "e": 2]
        let ctx = try ZMQContext()
        defer { ctx.terminate() }
        let producer = try Producer(context: ctx, endpoint: proxy.endpoints["input"]!, highWaterMark: 0)
        let subscriber = try Subscriber(context: ctx, endpoint: proxy.endpoints["output"]!, topics: ["prediction."])
        let controls = try daemons.map { try ControlClient(context: ctx, endpoint: $0.control, timeout: .seconds(10)) }
        defer {
            producer.close()
            subscriber.close()
            for c in controls { c.close() }
        }
        try sync(producer, subscriber, models: host.keys.sorted())
        func predictions() throws -> [String: [[Double]]] {
            try host.mapValues { _ in [] }.keys.reduce(into: [:]) { r, m in
                r[m] = try controls[host[m]!].predict(model: m, rows: probe)
            }
        }
        func seq(_ m: String) throws -> Int {
            try controls[host[m]!].status().models.first { $0.name == m }?.stats.seq ?? -1
        }
        var before = try predictions()
        for (i, m) in host.keys.sorted().enumerated() {
            try producer.send(topic: m, batch(100, seed: i + 1, id: UInt64(i)))
            var n = 0
            for _ in 0..<200 where n != 100 {
                n = try seq(m)
                Thread.sleep(forTimeInterval: 0.02)
            }
            #expect(n == 100, "model \(m) learned \(n) samples")
            let after = try predictions()
            for other in host.keys.sorted() {
                if other == m {
                    #expect(after[m] != before[m], "model \(m)'s predictions did not change")
                } else {
                    #expect(after[other] == before[other], "model \(other) changed when \(m) was fed")
                }
            }
            before = after
        }
        // Stop the daemon of a and b: the other models' streams keep running through the proxy.
        #expect(daemons[0].terminate().status == 0)
        try subscriber.drain()
        for m in ["c", "d", "e"] { try producer.send(topic: m, batch(50, seed: 9, id: 100)) }
        var seen = Set<String>()
        let deadline = Date().addingTimeInterval(20)
        while !seen.isSuperset(of: ["c", "d", "e"]), Date() < deadline {
            if case .prediction(let p)? = try subscriber.next(timeout: .milliseconds(100)) { seen.insert(p.model) }
        }
        #expect(seen == ["c", "d", "e"])
        for m in ["c", "d", "e"] { #expect(try seq(m) == 150) }
        for d in daemons.dropFirst() { #expect(d.terminate().status == 0) }
        #expect(proxy.stop() == 0)
    }

    @Test func twoReplicasFedThroughTheProxyStayBitIdentical() throws {
        let proxy = try ChildProxy(executable: ngdExecutable())
        let replicas = [
            try daemon(proxy, models: [("m", 7)], sequenced: true),
            try daemon(proxy, models: [("m", 7)], sequenced: true),
        ]
        let ctx = try ZMQContext()
        defer { ctx.terminate() }
        let producer = try Producer(context: ctx, endpoint: proxy.endpoints["input"]!, highWaterMark: 0)
        let subscriber = try Subscriber(context: ctx, endpoint: proxy.endpoints["output"]!, topics: ["prediction."])
        let controls = try replicas.map { try ControlClient(context: ctx, endpoint: $0.control, timeout: .seconds(10)) }
        let proxyControl = try control(of: proxy, ctx)
        defer {
            producer.close()
            subscriber.close()
            for c in controls { c.close() }
            proxyControl.close()
        }
        // Both replicas must be subscribed before the stream starts: two probe predictions.
        try sync(producer, subscriber, models: ["m"])
        #expect(try probe(producer, subscriber, answers: 2, tag: "p") == 2)
        for i in 0..<200 {
            try producer.send(topic: "m", batch(100, seed: 3, id: UInt64(i)))
            if i % 20 == 19 { Thread.sleep(forTimeInterval: 0.05) }
        }
        var seqs = [0, 0]
        for _ in 0..<500 where seqs != [20_000, 20_000] {
            seqs = try controls.map { try status($0).stats.seq }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(seqs == [20_000, 20_000])
        let digests = try controls.map { try status($0).digest }
        #expect(digests[0] != nil && digests[0] == digests[1], "\(digests)")
        let predictions = try controls.map { try $0.predict(model: "m", rows: probe) }
        #expect(predictions[0] == predictions[1])
        #expect(try controls.map { try status($0).stats.missedMessages } == [0, 0])

        // PAUSE holds the stream at the proxy; RESUME lets it through.
        try proxyControl.send(["PAUSE"])
        #expect(try proxyControl.receive() == [[]])
        try producer.send(topic: "m", batch(10, seed: 3, id: 200))
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try controls.map { try status($0).stats.seq } == [20_000, 20_000])
        try proxyControl.send(["RESUME"])
        #expect(try proxyControl.receive() == [[]])
        // A gap in the ids (201 and 202 never sent) is reported by each replica that sees it.
        try producer.send(topic: "m", batch(10, seed: 3, id: 203))
        var missed: [Int?] = [nil, nil]
        for _ in 0..<200 where missed != [2, 2] {
            missed = try controls.map { try status($0).stats.missedMessages }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(missed == [2, 2])
        #expect(replicas.allSatisfy { $0.log.contains("gap in message ids") })
        try proxyControl.send(["STATISTICS"])
        let stats = try JSONValue.parse(try #require(try proxyControl.receive()?.first))
        #expect((stats["input"]?["frontend_messages_in"]?.int ?? 0) >= 202)
        let tail = try runProcess(
            ngdExecutable(),
            [
                "tail", "--from", proxy.endpoints["output"]!, "--proxy", proxy.endpoints["control"]!, "--duration",
                "1.5", "--interval", "0.5",
            ])
        #expect(
            tail.status == 0 && tail.output.contains("proxy input") && tail.output.contains("(total"), "\(tail.output)")
        try proxyControl.send(["NONSENSE"])
        #expect(String(decoding: try #require(try proxyControl.receive()?.first), as: UTF8.self).contains("error"))

        // A replica restarted from its own checkpoint counts what it missed while down: it
        // stops (checkpoint), ids 204–206 reach only the other, it restarts, id 207 arrives.
        #expect(replicas[0].terminate().status == 0)
        for id in 204...206 { try producer.send(topic: "m", batch(10, seed: 3, id: UInt64(id))) }
        var seq1 = 0
        for _ in 0..<200 where seq1 != 20_050 {
            seq1 = try status(controls[1]).stats.seq
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(seq1 == 20_050)
        let restarted = try daemon(proxy, models: [("m", 7)], sequenced: true, stateDir: replicas[0].stateDir)
        let restartedControl = try ControlClient(context: ctx, endpoint: restarted.control, timeout: .seconds(10))
        defer { restartedControl.close() }
        #expect(try status(restartedControl).stats.seq == 20_020)
        // Probes until the restarted replica answers too (string ids are not part of the sequence).
        #expect(try probe(producer, subscriber, answers: 2, tag: "r") == 2)
        try producer.send(topic: "m", batch(10, seed: 3, id: 207))
        var restartedMissed: Int?
        for _ in 0..<200 where restartedMissed != 3 {
            restartedMissed = try status(restartedControl).stats.missedMessages
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(restartedMissed == 3)
        #expect(try status(restartedControl).stats.seq == 20_030)
        #expect(try status(controls[1]).stats.missedMessages == 2)
        #expect(restarted.terminate().status == 0)
        #expect(replicas[1].terminate().status == 0)
        #expect(proxy.stop() == 0)
    }

    /// `ngd proxy --curve-server-key`: every socket is a CURVE server that admits only its own
    /// directory's keys. A daemon whose key the proxy lists (`[daemon.curve] proxy_key`) learns
    /// what a listed producer sends and its predictions reach a listed subscriber; a daemon, a
    /// producer and a subscriber with an unlisted key get nothing, plain text gets no control
    /// reply, and the refused handshakes are counted in STATISTICS.
    @Test func curveProxyAdmitsOnlyTheKeysListedForEachSocket() throws {
        let dir = temporaryDirectory("curve-proxy")
        let roles = [
            ("proxy", "server"), ("producer", "producers"), ("daemon", "daemons"), ("subscriber", "subscribers"),
            ("admin", "admins"), ("stranger", "other"),
        ]
        var keys: [String: CurveCertificate] = [:]
        for (name, sub) in roles {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
            #expect(try runProcess(ngdExecutable(), ["keygen", name, "--dir", "\(dir)/\(sub)"]).status == 0)
            keys[name] = try CurveCertificate.read(path: "\(dir)/\(sub)/\(name).key_secret")
        }
        let proxyKey = try #require(keys["proxy"]).publicKey
        func client(_ name: String) throws -> CurveClientKeys {
            let c = try #require(keys[name])
            return CurveClientKeys(serverKey: proxyKey, publicKey: c.publicKey, secretKey: try #require(c.secretKey))
        }
        let proxy = try ChildProxy(
            executable: ngdExecutable(),
            extraArguments: [
                "--curve-server-key", "\(dir)/server/proxy.key_secret", "--curve-producers", "\(dir)/producers",
                "--curve-daemons", "\(dir)/daemons", "--curve-subscribers", "\(dir)/subscribers", "--curve-admins",
                "\(dir)/admins",
            ])
        func curveTOML(_ name: String, _ sub: String) -> String {
            "[daemon.curve]\nserver_key = \"\(dir)/\(sub)/\(name).key_secret\"\nadmins = \"\(dir)/admins\"\n"
                + "proxy_key = \"\(dir)/server/proxy.key\"\n"
        }
        let listed = try daemon(proxy, models: [("m", 7)], extra: curveTOML("daemon", "daemons"))
        let unlisted = try daemon(proxy, models: [("m", 7)], extra: curveTOML("stranger", "other"))
        let ctx = try ZMQContext()
        defer { ctx.terminate() }
        let producer = try Producer(
            context: ctx, endpoint: proxy.endpoints["input"]!, highWaterMark: 0, curve: try client("producer"))
        let subscriber = try Subscriber(
            context: ctx, endpoint: proxy.endpoints["output"]!, topics: ["prediction."],
            curve: try client("subscriber"))
        let strangerProducer = try Producer(
            context: ctx, endpoint: proxy.endpoints["input"]!, highWaterMark: 0, curve: try client("stranger"))
        let strangerSubscriber = try Subscriber(
            context: ctx, endpoint: proxy.endpoints["output"]!, topics: [""], curve: try client("stranger"))
        // The daemons' control sockets are CURVE servers with the daemons' own keys.
        let controls = try [(listed, "daemons", "daemon"), (unlisted, "other", "stranger")].map { d, sub, name in
            let server = try CurveCertificate.read(path: "\(dir)/\(sub)/\(name).key").publicKey
            let admin = try client("admin")
            return try ControlClient(
                context: ctx, endpoint: d.control, timeout: .seconds(10),
                curve: CurveClientKeys(serverKey: server, publicKey: admin.publicKey, secretKey: admin.secretKey))
        }
        let proxyControl = try ZMQSocket(ctx, type: .req, lingerMilliseconds: 0)
        try proxyControl.setCurveClient(
            serverKey: proxyKey, publicKey: try client("admin").publicKey, secretKey: try client("admin").secretKey)
        try proxyControl.setReceiveTimeout(milliseconds: 5000)
        try proxyControl.connect(proxy.endpoints["control"]!)
        let plainControl = try ZMQSocket(ctx, type: .req, lingerMilliseconds: 0)
        try plainControl.setReceiveTimeout(milliseconds: 1000)
        try plainControl.setSendTimeout(milliseconds: 1000)
        try plainControl.connect(proxy.endpoints["control"]!)
        defer {
            for c in controls { c.close() }
            for s in [proxyControl, plainControl] { s.close() }
            producer.close()
            strangerProducer.close()
            subscriber.close()
            strangerSubscriber.close()
        }
        // Encrypted both ways through the proxy: producer → proxy → daemon → proxy → subscriber.
        try sync(producer, subscriber, models: ["m"])
        func seqs() throws -> [Int] { try controls.map { try $0.status().models.first?.stats.seq ?? -1 } }
        try producer.send(topic: "m", batch(100, seed: 3, id: 1))
        var n = [0, 0]
        for _ in 0..<250 where n[0] != 100 {
            n = try seqs()
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(n == [100, 0], "the listed daemon learns, the unlisted one never receives")
        // An unlisted producer reaches no daemon.
        for i in 0..<20 { try strangerProducer.send(topic: "m", batch(10, seed: 3, id: UInt64(100 + i))) }
        Thread.sleep(forTimeInterval: 1)
        #expect(try seqs() == [100, 0])
        // An unlisted subscriber reads nothing while the listed one reads the predictions.
        try subscriber.drain()
        try producer.send(topic: "m", batch(5, seed: 3, id: 2))
        var got = false
        let until = Date().addingTimeInterval(10)
        while !got, Date() < until {
            if case .prediction? = try subscriber.next(timeout: .milliseconds(100)) { got = true }
        }
        #expect(got)
        #expect(try strangerSubscriber.next(timeout: .milliseconds(500)) == nil)
        // Plain text gets no control reply; the admin's key gets STATISTICS with the refusals.
        // (A REQ whose handshake failed has no peer: the send times out, or the reply never comes.)
        if try plainControl.send(["STATISTICS"]) { #expect(try plainControl.receive() == nil) }
        try proxyControl.send(["STATISTICS"])
        let stats = try JSONValue.parse(try #require(try proxyControl.receive()?.first))
        let refused = stats["auth_failures"]?.int ?? 0
        // The unlisted daemon's SUB and PUB, the stranger producer and subscriber, the plain control.
        #expect(refused >= 4, "\(stats)")
        // SIGHUP reads the directories again: the stranger, now listed, subscribes; the admin's
        // key, now also a subscriber's, serves `ngd tail` for both the output and the statistics.
        for (name, from) in [("stranger", "other"), ("admin", "admins")] {
            try FileManager.default.copyItem(
                atPath: "\(dir)/\(from)/\(name).key", toPath: "\(dir)/subscribers/\(name).key")
        }
        // The refused daemon's key too: it keeps retrying (libzmq alone would not) and gets in.
        try FileManager.default.copyItem(atPath: "\(dir)/other/stranger.key", toPath: "\(dir)/daemons/stranger.key")
        kill(proxy.process.processIdentifier, SIGHUP)
        // (libzmq does not retry a refused handshake, so connect only once the keys are read.)
        #expect(proxy.waitForLog("reloaded CURVE keys", timeout: 20))
        let admitted = try Subscriber(
            context: ctx, endpoint: proxy.endpoints["output"]!, topics: ["prediction."], curve: try client("stranger"))
        defer { admitted.close() }
        got = false
        for i in 0..<50 where !got {
            try producer.send(topic: "m", batch(1, seed: 3, id: UInt64(10 + i)))
            if case .prediction? = try admitted.next(timeout: .milliseconds(200)) { got = true }
        }
        #expect(got, "a key added to the subscribers directory reads after SIGHUP")
        let tail = try runProcess(
            ngdExecutable(),
            [
                "tail", "--from", proxy.endpoints["output"]!, "--proxy", proxy.endpoints["control"]!, "--duration",
                "1.5", "--interval", "0.5", "--curve-server-key", "\(dir)/server/proxy.key", "--curve-key",
                "\(dir)/admins/admin.key_secret",
            ])
        #expect(
            tail.status == 0 && tail.output.contains("proxy input") && tail.output.contains("refused handshakes"),
            "\(tail.output)")
        var late = 0
        for i in 0..<150 where late == 0 {
            try producer.send(topic: "m", batch(1, seed: 3, id: UInt64(500 + i)))
            Thread.sleep(forTimeInterval: 0.2)
            late = try seqs()[1]
        }
        #expect(late > 0, "the daemon whose key was listed late learns after its next retry")
        #expect(unlisted.log.contains("connection refused; retrying") && unlisted.log.contains("connected"))
        #expect(unlisted.terminate().status == 0)
        #expect(listed.terminate().status == 0)
        #expect(proxy.stop() == 0)
    }

    /// An oversize message costs only itself. One the proxy admits but the daemon's
    /// `max_message_size` does not is refused by the daemon with a `size` error, and the daemon
    /// keeps learning (before, libzmq dropped the daemon's connection to the proxy and it
    /// received nothing more); one above the proxy's `--max-message-size` never leaves the proxy,
    /// and the other producers' messages still arrive.
    @Test func anOversizeMessageCostsOnlyItself() throws {
        let proxy = try ChildProxy(executable: ngdExecutable(), extraArguments: ["--max-message-size", "20000"])
        let d = try daemon(proxy, models: [("m", 7)], extra: "max_message_size = 1000\n")
        let ctx = try ZMQContext()
        defer { ctx.terminate() }
        let producer = try Producer(context: ctx, endpoint: proxy.endpoints["input"]!, highWaterMark: 0)
        let other = try Producer(context: ctx, endpoint: proxy.endpoints["input"]!, highWaterMark: 0)
        let subscriber = try Subscriber(context: ctx, endpoint: proxy.endpoints["output"]!, topics: ["error.m"])
        let control = try ControlClient(context: ctx, endpoint: d.control, timeout: .seconds(10))
        defer {
            for p in [producer, other] { p.close() }
            subscriber.close()
            control.close()
        }
        func stats() throws -> StatsMessage { try status(control).stats }
        // Each probe goes out until one is learned: both producers are then connected.
        for p in [producer, other] {
            let before = try stats().seq
            for i in 0..<100 where try stats().seq == before {
                try p.send(topic: "m", batch(1, seed: 3, id: UInt64(i)))
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        let start = try stats()
        // 104 samples × 40 bytes: about 4.2 kB, above the daemon's 1,000 and below the proxy's 20,000.
        try producer.send(topic: "m", batch(104, seed: 3, id: 1000))
        var error: String?
        let until = Date().addingTimeInterval(10)
        while error == nil, Date() < until {
            if case .error(let e)? = try subscriber.next(timeout: .milliseconds(100)) { error = e.reason }
        }
        #expect(error?.contains("larger than max_message_size (1000)") == true, "\(error ?? "no error message")")
        try producer.send(topic: "m", batch(5, seed: 3, id: 1001))
        #expect(try waitForSeq(control, start.seq + 5) == start.seq + 5, "the daemon still learns from the proxy")
        #expect(try stats().rejected == start.rejected + 1)
        // 1,000 samples, about 40 kB: cut at the proxy; the daemon sees nothing of it.
        try other.send(topic: "m", batch(1000, seed: 3, id: 2000))
        Thread.sleep(forTimeInterval: 0.5)
        try producer.send(topic: "m", batch(5, seed: 3, id: 1002))
        #expect(try waitForSeq(control, start.seq + 10) == start.seq + 10)
        #expect(try stats().rejected == start.rejected + 1)
        #expect(d.terminate().status == 0)
        #expect(proxy.stop() == 0)
    }

    /// The documented way to add a hot-standby replica, run: PAUSE the proxy, `ngd snapshot` the
    /// live replica's model into a fresh state directory, start the new replica on it, RESUME.
    /// Both then have equal digests and bit-identical predictions, and stay so with no gap.
    @Test func aReplicaStartedFromASnapshotMatchesTheLiveOne() throws {
        let proxy = try ChildProxy(executable: ngdExecutable())
        let live = try daemon(proxy, models: [("m", 7)], sequenced: true)
        let ctx = try ZMQContext()
        defer { ctx.terminate() }
        let producer = try Producer(context: ctx, endpoint: proxy.endpoints["input"]!, highWaterMark: 0)
        let subscriber = try Subscriber(context: ctx, endpoint: proxy.endpoints["output"]!, topics: ["prediction."])
        let liveControl = try ControlClient(context: ctx, endpoint: live.control, timeout: .seconds(10))
        let proxyControl = try control(of: proxy, ctx)
        defer {
            producer.close()
            subscriber.close()
            liveControl.close()
            proxyControl.close()
        }
        try sync(producer, subscriber, models: ["m"])
        for i in 0..<20 { try producer.send(topic: "m", batch(100, seed: 3, id: UInt64(i))) }
        #expect(try waitForSeq(liveControl, 2000) == 2000)
        try proxyControl.send(["PAUSE"])
        #expect(try proxyControl.receive() == [[]])
        let dir = temporaryDirectory("snapshot")
        let copy = try runProcess(
            ngdExecutable(), ["snapshot", "--control", live.control, "--model", "m", "--to", dir])
        #expect(copy.status == 0 && copy.output.contains("seq 2000"), "\(copy.output)")
        // Taken again, it refuses to replace the file; an unknown model is named.
        let again = try runProcess(
            ngdExecutable(), ["snapshot", "--control", live.control, "--model", "m", "--to", dir])
        #expect(again.status != 0 && again.output.contains("--replace"), "\(again.output)")
        let unknown = try runProcess(
            ngdExecutable(), ["snapshot", "--control", live.control, "--model", "x", "--to", dir])
        #expect(unknown.status != 0 && unknown.output.contains("unknown model 'x' (models: m)"), "\(unknown.output)")

        let standby = try daemon(proxy, models: [("m", 7)], sequenced: true, stateDir: dir)
        let standbyControl = try ControlClient(context: ctx, endpoint: standby.control, timeout: .seconds(10))
        defer { standbyControl.close() }
        #expect(try status(standbyControl).stats.seq == 2000)
        #expect(try status(standbyControl).digest == status(liveControl).digest)
        #expect(try standbyControl.predict(model: "m", rows: probe) == liveControl.predict(model: "m", rows: probe))
        // The standby subscribes while the proxy holds the stream; RESUME, then both learn it.
        Thread.sleep(forTimeInterval: 0.5)
        try proxyControl.send(["RESUME"])
        #expect(try proxyControl.receive() == [[]])
        #expect(try probe(producer, subscriber, answers: 2, tag: "s") == 2)
        for i in 20..<40 { try producer.send(topic: "m", batch(100, seed: 3, id: UInt64(i))) }
        #expect(try waitForSeq(liveControl, 4000) == 4000)
        #expect(try waitForSeq(standbyControl, 4000) == 4000)
        #expect(try status(standbyControl).digest == status(liveControl).digest)
        #expect(try [status(liveControl), status(standbyControl)].map(\.stats.missedMessages) == [0, 0])
        #expect(standby.terminate().status == 0)
        #expect(live.terminate().status == 0)
        #expect(proxy.stop() == 0)
    }
}
