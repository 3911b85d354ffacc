import Foundation
import NGDSystem
import Testing

@testable import ZeroMQ

@Suite struct ZeroMQTests {
    @Test func pushPullOverInprocCarriesMultipartBytesExactly() throws {
        let ctx = try ZMQContext()
        let pull = try ZMQSocket(ctx, type: .pull, lingerMilliseconds: 0)
        try pull.bind("inproc://pp")
        let push = try ZMQSocket(ctx, type: .push, lingerMilliseconds: 0)
        try push.connect("inproc://pp")
        // Frames of 0, 1, 33 (the in-struct limit), 34 and 100 000 bytes.
        let frames: [[UInt8]] = [
            [], [7], (0..<33).map { UInt8($0) }, (0..<34).map { UInt8($0 * 3 & 255) },
            (0..<100_000).map { UInt8($0 % 251) },
        ]
        try push.send(frames)
        #expect(try pull.receive() == frames)
        #expect(try pull.receive(wait: false) == nil)
    }

    @Test func pubSubOverTCPWithPrefixSubscriptionAndEphemeralPort() throws {
        let ctx = try ZMQContext()
        let pub = try ZMQSocket(ctx, type: .pub, lingerMilliseconds: 0)
        try pub.bind("tcp://127.0.0.1:*")
        let endpoint = try pub.lastEndpoint()
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":*"))
        let sub = try ZMQSocket(ctx, type: .sub, lingerMilliseconds: 0)
        try sub.subscribe("loss.")
        try sub.setReceiveTimeout(milliseconds: 20)
        try sub.connect(endpoint)
        // Slow joiner: publish probes until one arrives.
        var got: [[UInt8]]?
        for _ in 0..<250 where got == nil {
            try pub.send(["stats.x", "ignored"])
            try pub.send(["loss.x", "probe"])
            got = try sub.receive()
        }
        #expect(got == [Array("loss.x".utf8), Array("probe".utf8)])
    }

    @Test func requestReplyAndPollerReportsReadiness() throws {
        let ctx = try ZMQContext()
        let rep = try ZMQSocket(ctx, type: .rep, lingerMilliseconds: 0)
        try rep.bind("tcp://127.0.0.1:*")
        let req = try ZMQSocket(ctx, type: .req, lingerMilliseconds: 0)
        try req.connect(try rep.lastEndpoint())
        var poller = ZMQPoller([rep])
        #expect(try poller.poll(timeoutMilliseconds: 0) == [false])
        try req.send(["ping"])
        #expect(try poller.poll(timeoutMilliseconds: 5000) == [true])
        #expect(try rep.receive() == [Array("ping".utf8)])
        try rep.send(["pong"])
        #expect(try req.receive() == [Array("pong".utf8)])
    }

    @Test func errorsNameTheCallAndEndpoint() throws {
        let ctx = try ZMQContext()
        let s = try ZMQSocket(ctx, type: .pull, lingerMilliseconds: 0)
        do {
            try s.bind("tcp://not-an-endpoint")
            Issue.record("bind should fail")
        } catch let e as ZMQError {
            #expect(e.call == "zmq_bind" && e.context == "tcp://not-an-endpoint")
            #expect(e.description.contains("zmq_bind tcp://not-an-endpoint failed"))
        }
        s.close()
        #expect(throws: ZMQError.self) { try s.bind("inproc://x") }
    }

    @Test func maximumMessageSizeDropsOversizedMessagesAndKeepsServing() throws {
        let ctx = try ZMQContext()
        let pull = try ZMQSocket(ctx, type: .pull, lingerMilliseconds: 0)
        try pull.setMaximumMessageSize(bytes: 1000)
        try pull.setReceiveTimeout(milliseconds: 300)
        try pull.bind("tcp://127.0.0.1:*")
        let endpoint = try pull.lastEndpoint()
        let big = try ZMQSocket(ctx, type: .push, lingerMilliseconds: 0)
        try big.connect(endpoint)
        try big.send([[UInt8](repeating: 1, count: 5000)])
        #expect(try pull.receive() == nil)
        let small = try ZMQSocket(ctx, type: .push, lingerMilliseconds: 0)
        try small.connect(endpoint)
        try small.send([[1, 2, 3]])
        try pull.setReceiveTimeout(milliseconds: 5000)
        #expect(try pull.receive() == [[1, 2, 3]])
    }

    @Test func contextShutdownWakesABlockedReceiverWithETERM() async throws {
        let ctx = try ZMQContext()
        let done = DispatchSemaphore(value: 0)
        let result = Locked<ZMQError?>(nil)
        let t = Thread {
            do {
                let s = try ZMQSocket(ctx, type: .pull, lingerMilliseconds: 0)
                try s.bind("inproc://blocked")
                _ = try s.receive()
            } catch let e as ZMQError { result.withLock { $0 = e } } catch {}
            done.signal()
        }
        t.start()
        try await Task.sleep(for: .milliseconds(100))
        ctx.shutdown()
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(result.value?.isTerminated == true)
        ctx.terminate()
    }
}

/// Socket-monitor messages: a 6-byte event frame and the endpoint.
@Suite struct MonitorEventTests {
    @Test func eventFramesAreReadAndAnythingElseIsNot() {
        let auth = ZMQMonitorEvent(frames: [[0x00, 0x40, 0x90, 0x01, 0x00, 0x00], Array("tcp://127.0.0.1:5565".utf8)])
        #expect(auth == ZMQMonitorEvent(kind: .handshakeFailedAuth, value: 400, endpoint: "tcp://127.0.0.1:5565"))
        #expect(auth.map { !$0.kind.isDisjoint(with: .handshakeFailed) } == true)
        let ok = ZMQMonitorEvent(frames: [[0x00, 0x10, 0, 0, 0, 0], []])
        #expect(ok?.kind == .handshakeSucceeded && ok.map { $0.kind.isDisjoint(with: .handshakeFailed) } == true)
        #expect(ZMQMonitorEvent(frames: [[0x00, 0x40, 0x90, 0x01, 0x00], []]) == nil)
        #expect(ZMQMonitorEvent(frames: [[0x00, 0x40, 0x90, 0x01, 0x00, 0x00]]) == nil)
    }
}
