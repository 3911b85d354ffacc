import Foundation
import NGDWire
import ZeroMQ

/// The control socket (REP): one JSON request, one JSON reply. Every request gets a reply, an
/// `{"error": …}` one when the request is malformed or unknown, so a REQ client never hangs.
extension ServeLoop {
    func handleControl(_ socket: ZMQSocket) throws {
        guard let frames = try socket.receive(wait: false) else { return }
        let reply: [UInt8]
        if frames.count != 1 {
            reply = errorReply("expected a single-frame JSON request, got \(frames.count) frames")
        } else {
            reply = controlReply(frames[0])
        }
        try socket.send([reply])
    }

    func errorReply(_ message: String) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("error")
        w.value(message)
        w.endObject()
        return w.bytes
    }

    /// The reply to one control request.
    func controlReply(_ request: [UInt8]) -> [UInt8] {
        let doc: JSONValue
        do { doc = try JSONValue.parse(request) } catch { return errorReply("\(error)") }
        guard case .object = doc else {
            return errorReply("the request must be a JSON object such as {\"cmd\":\"status\"}")
        }
        guard case .string(let cmd)? = doc["cmd"] else {
            return errorReply("missing \"cmd\" (one of status, predict, checkpoint, pause, resume)")
        }
        switch cmd {
        case "status": return status()
        case "checkpoint":
            let (paths, errors) = saveAll(reason: "command")
            var w = JSONWriter()
            w.beginObject()
            w.key("ok")
            w.value(errors.isEmpty)
            w.key("paths")
            w.beginArray()
            for p in paths { w.value(p) }
            w.endArray()
            if !errors.isEmpty {
                w.key("error")
                w.value(errors.joined(separator: "; "))
            }
            w.endObject()
            return w.bytes
        case "pause", "resume":
            guard let m = requestedModel(doc) else { return modelError(doc) }
            m.paused = cmd == "pause"
            logger.notice("\(cmd)d model", metadata: ["model": "\(m.name)"])
            var w = JSONWriter()
            w.beginObject()
            w.key("ok")
            w.value(true)
            w.key("model")
            w.value(m.name)
            w.key("paused")
            w.value(m.paused)
            w.endObject()
            return w.bytes
        case "predict":
            guard let m = requestedModel(doc) else { return modelError(doc) }
            guard let xv = doc["x"], xv != .null else { return errorReply("missing x") }
            do {
                let (x, k, nx, batch) = try SampleMessage.matrix(xv, field: "x")
                let n0 = m.network.architecture.inputSize
                guard nx == n0 else {
                    return errorReply("x has \(nx) values per sample; model \(m.name) expects \(n0)")
                }
                let y = try m.predict(x, count: k)
                let nL = m.network.architecture.outputSize
                var w = JSONWriter()
                w.beginObject()
                w.key("y_hat")
                if batch {
                    w.beginArray()
                    for r in 0..<k { w.value(doubles: y[(r * nL)..<((r + 1) * nL)]) }
                    w.endArray()
                } else {
                    w.value(doubles: y)
                }
                w.endObject()
                return w.bytes
            } catch {
                return errorReply("\(error)")
            }
        default:
            return errorReply("unknown cmd '\(cmd)' (one of status, predict, checkpoint, pause, resume)")
        }
    }

    func requestedModel(_ doc: JSONValue) -> HostedModel? {
        guard case .string(let name)? = doc["model"] else { return nil }
        return registry.model(named: name)
    }

    func modelError(_ doc: JSONValue) -> [UInt8] {
        let names = registry.models.map(\.name).joined(separator: ", ")
        guard case .string(let name)? = doc["model"] else { return errorReply("missing \"model\" (one of \(names))") }
        return errorReply("unknown model '\(name)' (models: \(names))")
    }

    func status() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("uptime_s")
        w.value(Date().timeIntervalSince(started))
        w.key("models")
        w.beginObject()
        for m in registry.models {
            w.key(m.name)
            w.beginObject()
            w.key("topic")
            w.value(m.config.topic)
            w.key("layers")
            w.beginArray()
            for n in m.config.layers { w.value(n) }
            w.endArray()
            w.key("activation")
            w.value(m.config.activation.rawValue)
            w.key("bias")
            w.value(m.config.bias)
            w.key("optimizer")
            w.value(m.config.optimizer.rawValue)
            w.key("learning_rate")
            w.value(m.config.learningRate)
            w.key("batch")
            w.value(m.config.blockSize)
            w.key("seq")
            w.value(m.seq)
            w.key("samples")
            w.value(m.samples)
            w.key("loss_ema")
            m.lossEMA.map { w.value($0) } ?? w.null()
            w.key("mse_ema")
            m.mseEMA.map { w.value($0) } ?? w.null()
            w.key("damping")
            m.damping.map { w.value($0) } ?? w.null()
            w.key("samples_per_s")
            w.value(m.sampleRate())
            w.key("checkpoint_age_s")
            m.lastCheckpoint.map { w.value(Date().timeIntervalSince($0)) } ?? w.null()
            w.key("paused")
            w.value(m.paused)
            w.key("rejected")
            w.value(m.rejectedMessages)
            w.endObject()
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
