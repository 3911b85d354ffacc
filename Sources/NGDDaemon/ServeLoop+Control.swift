import Foundation
import NGDWire
import ZeroMQ

/// The control socket: one JSON request, one JSON reply (``ControlRequest`` and
/// ``ControlReply``, in NGDWire). Every request gets a reply, an `{"error": …}` one when the
/// request is malformed or unknown, so a REQ client never hangs.
///
/// The socket is a ROUTER, not a REP: a REP socket is a state machine (receive, then send), and
/// a reply it could not deliver (its peer gone, garbage on the port) left it unable to receive
/// again, so every later request went unanswered. A ROUTER has no such state: each request
/// carries its peer's envelope, the reply goes back with it, and a reply to a peer that has
/// left is dropped. Clients use REQ (which adds the empty delimiter frame) or DEALER (sending
/// an empty frame, then the request).
extension ServeLoop {
    func handleControl(_ socket: ZMQSocket) throws {
        guard let frames = try socket.receive(wait: false), frames.count >= 2 else { return }
        // [identity, …, empty delimiter, request]; a DEALER that sends no delimiter gets its
        // reply behind the identity alone.
        let split = frames.dropFirst().firstIndex(where: \.isEmpty).map { $0 + 1 } ?? 1
        let envelope = Array(frames[..<split])
        let body = frames[split...]
        let reply: ControlReply
        if body.count != 1 {
            reply = .error("expected a single-frame JSON request, got \(body.count) frames")
        } else {
            reply = controlReply(body[body.startIndex])
        }
        // Never blocks: a peer that is gone or not reading loses its reply, nobody else waits.
        _ = try socket.send(envelope + reply.frames, wait: false)
    }

    /// The reply to one control request.
    func controlReply(_ bytes: [UInt8]) -> ControlReply {
        let request: ControlRequest
        do { request = try ControlRequest.decode(bytes) } catch { return .error("\(error)") }
        var model: HostedModel?
        if let name = request.model {
            model = registry.model(named: name)
            if model == nil {
                let names = registry.models.map(\.name).joined(separator: ", ")
                return .error("unknown model '\(name)' (models: \(names))")
            }
        }
        switch request {
        case .status:
            return .status(
                uptime: Date().timeIntervalSince(started), models: registry.models.map(status),
                authFailures: authFailures)
        case .checkpoint:
            let (paths, errors) = saveAll(reason: "command")
            return .checkpoint(
                ok: errors.isEmpty, paths: paths, error: errors.isEmpty ? nil : errors.joined(separator: "; "))
        case .pause, .resume:
            guard let m = model else { return .error("missing \"model\"") }
            m.paused = request == .pause(model: m.name)
            logger.notice("\(m.paused ? "paused" : "resumed") model", metadata: ["model": "\(m.name)"])
            return .paused(model: m.name, paused: m.paused)
        case .snapshot:
            guard let m = model else { return .error("missing \"model\"") }
            do {
                let file = try CheckpointFile.encode(try m.checkpoint())
                logger.notice(
                    "sent a snapshot", metadata: ["model": "\(m.name)", "seq": "\(m.seq)", "bytes": "\(file.count)"])
                return .snapshot(model: m.name, seq: m.seq, digest: m.digest(), file: file)
            } catch { return .error("\(error)") }
        case .predict(_, let x):
            guard let m = model else { return .error("missing \"model\"") }
            let a = m.network.architecture
            guard x.width == a.inputSize else {
                return .error("x has \(x.width) values per sample; model \(m.name) expects \(a.inputSize)")
            }
            do {
                let y = try m.predict(x.values, count: x.count)
                return .prediction(Rows(values: y, count: x.count, width: a.outputSize, isBatch: x.isBatch))
            } catch { return .error("\(error)") }
        }
    }

    func status(_ m: HostedModel) -> ModelStatus {
        var s = ModelStatus(
            topic: m.config.topic, layers: m.config.layers, activation: m.config.activation.rawValue,
            bias: m.config.bias, learningRate: m.config.learningRate, batch: m.config.blockSize,
            stats: statsMessage(m, samplesPerSecond: m.sampleRate()))
        s.digest = m.digest()
        return s
    }
}
